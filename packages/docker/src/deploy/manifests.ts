/**
 * The manifests themselves, as data: a kustomize base (Deployment, Service,
 * ConfigMap) with dev and prod overlays for Kubernetes, and a Knative serving
 * v1 Service for Cloud Run. Every fact comes from the image (ServingFacts), so
 * a manifest cannot disagree with what docker-test ran.
 */
import { stringify } from 'yaml';
import type { ServingFacts } from './image-facts';
import { DEFAULT_TIME_TO_READY_MS, probesFor } from './probes';

export type Platform = 'kubernetes' | 'cloud-run';

export interface ManifestNames {
  project: string;
  /** The workload's name (Deployment, Service, Cloud Run service): <project>-<image>. */
  app: string;
  /** The image as the base names it; overlays map it to the registry's name and the tested digest. */
  imageName: string;
  /** `<registry>/<repository>/<name>` without tag or digest. */
  fullImageName: string;
}

export interface ManifestOptions {
  /** Non-secret environment the app reads, for the ConfigMap. */
  env: Record<string, string>;
  hpa: boolean;
}

/** One file to write, relative to the project's deploy/ folder. */
export interface ManifestFile {
  path: string;
  /** Comment lines (without #) saying why the file is as it is. */
  comment: string[];
  docs: object[];
}

/**
 * uvicorn stops accepting on SIGTERM and waits for requests in flight with no
 * limit of its own (no --timeout-graceful-shutdown in the image's CMD): this
 * is the limit, after which the kubelet sends SIGKILL.
 */
export const TERMINATION_GRACE_SECONDS = 30;
export const PROD_REPLICAS = 2;
const KUSTOMIZATION = {
  apiVersion: 'kustomize.config.k8s.io/v1beta1',
  kind: 'Kustomization',
};

/** A DNS-1123 label: what Kubernetes accepts as a name. */
export function dnsLabel(text: string): string {
  const label = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return label || 'app';
}

function timingNote(facts: ServingFacts, budget: number): string {
  return facts.timingsFrom === 'test record'
    ? `Probe timings from the time to ready docker-test measured (${(facts.timeToReadyMs! / 1000).toFixed(1)} s): the startup probe allows ${budget} s.`
    : `No test record yet (run docker-test, then regenerate): probe timings assume ${DEFAULT_TIME_TO_READY_MS / 1000} s to ready; the startup probe allows ${budget} s.`;
}

/** The emptyDir volumes: /tmp and exactly the folders the image's label says the app writes. */
export function writableVolumes(facts: Pick<ServingFacts, 'writable'>) {
  return ['/tmp', ...facts.writable.filter((w) => w !== '/tmp')].map(
    (mountPath) => ({ name: dnsLabel(`w${mountPath}`), mountPath }),
  );
}

function labels(names: ManifestNames) {
  return {
    'app.kubernetes.io/name': names.app,
    'app.kubernetes.io/part-of': dnsLabel(names.project),
  };
}

export function kubernetesManifests(
  facts: ServingFacts,
  names: ManifestNames,
  options: ManifestOptions,
): ManifestFile[] {
  const probes = probesFor(facts, facts.port);
  const selector = { 'app.kubernetes.io/name': names.app };
  const volumes = writableVolumes(facts);
  const ids = { runAsUser: facts.uid, runAsGroup: facts.gid };
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: names.app, labels: labels(names) },
    spec: {
      replicas: 1,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: labels(names) },
        spec: {
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
          securityContext: {
            runAsNonRoot: true,
            ...ids,
            fsGroup: facts.gid,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: dnsLabel(facts.image),
              image: names.imageName,
              ports: [{ name: 'http', containerPort: facts.port }],
              envFrom: [{ configMapRef: { name: `${names.app}-config` } }],
              resources: {
                requests: { cpu: '500m', memory: '512Mi' },
                limits: { memory: '1Gi' },
              },
              startupProbe: probes.startupProbe,
              readinessProbe: probes.readinessProbe,
              livenessProbe: probes.livenessProbe,
              securityContext: {
                runAsNonRoot: true,
                ...ids,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: volumes,
            },
          ],
          volumes: volumes.map((v) => ({ name: v.name, emptyDir: {} })),
        },
      },
    },
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: names.app, labels: labels(names) },
    spec: {
      type: 'ClusterIP',
      selector,
      ports: [
        { name: 'http', port: 80, targetPort: facts.port, protocol: 'TCP' },
      ],
    },
  };
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${names.app}-config`, labels: labels(names) },
    data: options.env,
  };
  const hpa = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: names.app, labels: labels(names) },
    spec: {
      scaleTargetRef: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: names.app,
      },
      minReplicas: PROD_REPLICAS,
      maxReplicas: 5 * PROD_REPLICAS,
      metrics: [
        {
          type: 'Resource',
          resource: {
            name: 'cpu',
            target: { type: 'Utilization', averageUtilization: 70 },
          },
        },
      ],
    },
  };
  const image = { name: names.imageName, newName: names.fullImageName };
  const overlay = (replicas: number, extra: string[]) => ({
    ...KUSTOMIZATION,
    resources: ['../../base', ...extra],
    replicas: [{ name: names.app, count: replicas }],
    images: [image],
  });
  const pinNote =
    'images: docker-deploy-manifests adds the digest docker-push recorded, so this overlay runs exactly the image docker-test passed.';
  return [
    {
      path: 'kubernetes/base/kustomization.yaml',
      comment: [
        `Kustomize base for ${names.app}; deploy an overlay: kubectl apply -k deploy/kubernetes/overlays/prod`,
      ],
      docs: [
        {
          ...KUSTOMIZATION,
          resources: ['deployment.yaml', 'service.yaml', 'configmap.yaml'],
        },
      ],
    },
    {
      path: 'kubernetes/base/deployment.yaml',
      comment: [
        `Port ${facts.port}, user ${facts.uid}:${facts.gid}, probes on ${facts.readinessPath} and ${facts.livenessPath}: the image's EXPOSE, USER and labels.`,
        timingNote(facts, probes.startupBudgetSeconds),
        `Read-only root filesystem: emptyDir over /tmp${facts.writable.length ? ` and the folders the app writes (${facts.writable.join(', ')})` : ''}.`,
        `terminationGracePeriodSeconds: uvicorn finishes requests in flight after SIGTERM; SIGKILL after ${TERMINATION_GRACE_SECONDS} s.`,
      ],
      docs: [deployment],
    },
    {
      path: 'kubernetes/base/service.yaml',
      comment: [`Port 80 in the cluster, to the image's port ${facts.port}.`],
      docs: [service],
    },
    {
      path: 'kubernetes/base/configmap.yaml',
      comment: [
        'Non-secret settings the app reads (from docker-test service.env). Secrets belong in a Secret, never here.',
      ],
      docs: [configMap],
    },
    {
      path: 'kubernetes/overlays/dev/kustomization.yaml',
      comment: ['One replica.', pinNote],
      docs: [overlay(1, [])],
    },
    {
      path: 'kubernetes/overlays/prod/kustomization.yaml',
      comment: [
        `${PROD_REPLICAS} replicas${options.hpa ? ', scaled on CPU by hpa.yaml' : ''}.`,
        pinNote,
      ],
      docs: [overlay(PROD_REPLICAS, options.hpa ? ['hpa.yaml'] : [])],
    },
    ...(options.hpa
      ? [
          {
            path: 'kubernetes/overlays/prod/hpa.yaml',
            comment: [
              'Scales on CPU against the requests in the base Deployment.',
            ],
            docs: [hpa],
          },
        ]
      : []),
  ];
}

/**
 * Cloud Run sets PORT to the containerPort and the image's CMD listens on
 * $PORT. Cloud Run has no readiness probe: the startup probe on the readiness
 * path keeps traffic away until the model is loaded.
 */
export function cloudRunService(
  facts: ServingFacts,
  names: ManifestNames,
  options: ManifestOptions,
): ManifestFile {
  const probes = probesFor(facts, facts.port);
  return {
    path: 'cloud-run/service.yaml',
    comment: [
      `Deploy: gcloud run services replace deploy/cloud-run/service.yaml (docker-deploy-manifests pins the image to the tested digest).`,
      `Port ${facts.port} through $PORT; startup probe on ${facts.readinessPath}, liveness on ${facts.livenessPath}: the image's EXPOSE and labels.`,
      timingNote(facts, probes.startupBudgetSeconds),
    ],
    docs: [
      {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        metadata: { name: names.app, labels: labels(names) },
        spec: {
          template: {
            metadata: {
              annotations: {
                'autoscaling.knative.dev/minScale': '0',
                'autoscaling.knative.dev/maxScale': '10',
                // Model inference is CPU-bound: CPU only while a request runs, boosted at start.
                'run.googleapis.com/cpu-throttling': 'true',
                'run.googleapis.com/startup-cpu-boost': 'true',
              },
            },
            spec: {
              // One uvicorn worker: a few requests at once, not Cloud Run's default 80.
              containerConcurrency: 4,
              timeoutSeconds: 300,
              containers: [
                {
                  name: dnsLabel(facts.image),
                  image: names.fullImageName,
                  ports: [{ name: 'http1', containerPort: facts.port }],
                  env: Object.entries(options.env).map(([name, value]) => ({
                    name,
                    value,
                  })),
                  resources: { limits: { cpu: '1', memory: '1Gi' } },
                  startupProbe: probes.startupProbe,
                  livenessProbe: probes.livenessProbe,
                },
              ],
            },
          },
        },
      },
    ],
  };
}

export function manifestText(file: ManifestFile): string {
  const head = file.comment.map((c) => `# ${c}\n`).join('');
  return head + file.docs.map((d) => stringify(d)).join('---\n');
}
