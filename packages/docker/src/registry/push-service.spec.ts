import { backoffMs, classifyPushFailure, PushFailure } from './push-service';

jest.mock('../process/process');

describe('push executor', () => {
  describe('classifyPushFailure', () => {
    it.each<[string, PushFailure]>([
      // Progress lines hold the registry's port and layer IDs that look like status codes.
      [
        'The push refers to repository [127.0.0.1:5000/ml-images/synth-training]\n5f70bf18a086: Preparing\nmanifest invalid: manifest invalid',
        'fatal',
      ],
      [
        'The push refers to repository [127.0.0.1:5000/x]\na4013c5e1f2d: Preparing\nmanifest invalid: manifest invalid',
        'fatal',
      ],
      [
        'An image does not exist locally with the tag: 127.0.0.1:5000/ml-images/x',
        'fatal',
      ],
      // Refused logins: retrying cannot help, the user must log in.
      ['denied: requested access to the resource is denied', 'auth'],
      ['unauthorized: authentication required', 'auth'],
      ['no basic auth credentials', 'auth'],
      [
        'denied: Permission "artifactregistry.repositories.uploadArtifacts" denied on resource "projects/my-gcp-project/locations/us-central1/repositories/ml-images" (or it may not exist)',
        'auth',
      ],
      [
        "unauthorized: You don't have the needed permissions to perform this operation, and you may have invalid credentials.",
        'auth',
      ],
      [
        'error parsing HTTP 403 response body: unexpected end of JSON input: ""',
        'auth',
      ],
      ['received unexpected HTTP status: 401 Unauthorized', 'auth'],
      ['Error response from daemon: Forbidden', 'auth'],
      [
        'The push refers to repository [registry.example.com/ml-images/synth-training]\nPreparing\nunauthorized: authentication required',
        'auth',
      ],
      // Network blips and server errors: worth retrying.
      [
        'Get "https://registry.example.com/v2/": dial tcp 10.1.2.3:443: connect: connection refused',
        'transient',
      ],
      ['received unexpected HTTP status: 502 Bad Gateway', 'transient'],
      ['received unexpected HTTP status: 503 Service Unavailable', 'transient'],
      [
        'Put "https://registry.example.com/v2/ml-images/a/blobs/uploads/": net/http: TLS handshake timeout',
        'transient',
      ],
      [
        'write tcp 10.1.2.3:51234->10.1.2.4:443: write: broken pipe',
        'transient',
      ],
      [
        'read tcp 10.1.2.3:51234->10.1.2.4:443: read: connection reset by peer',
        'transient',
      ],
      ['unexpected EOF', 'transient'],
      [
        'Get "https://registry.example.com/v2/": dial tcp: lookup registry.example.com on 10.1.2.53:53: no such host',
        'transient',
      ],
      [
        'Head "https://registry.example.com/v2/ml-images/a/blobs/sha256:ab": net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)',
        'transient',
      ],
      ['Error: i/o timeout', 'transient'],
      ['error from registry: service temporarily unavailable', 'transient'],
      // Anything else will fail again the same way.
      ['invalid reference format', 'fatal'],
      ['manifest invalid: manifest invalid', 'fatal'],
      ['name unknown: repository name not known to registry', 'fatal'],
      ['blob unknown: blob unknown to registry', 'fatal'],
      ['received unexpected HTTP status: 400 Bad Request', 'fatal'],
      ['', 'fatal'],
    ])('classifies %j as %s', (output, kind) => {
      expect(classifyPushFailure(output)).toBe(kind);
    });

    it('treats a refused login as auth even when the output also mentions a timeout', () => {
      expect(
        classifyPushFailure(
          'retrying after timeout\nunauthorized: authentication required',
        ),
      ).toBe('auth');
    });
  });

  describe('backoffMs', () => {
    it.each([
      [1, 1000],
      [2, 2000],
      [3, 4000],
      [4, 8000],
    ])('waits before retry %i: %i ms', (attempt, ms) => {
      expect(backoffMs(attempt)).toBe(ms);
    });
  });
});
