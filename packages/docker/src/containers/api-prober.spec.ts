import { readFileSync } from 'node:fs';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  documentedExamples,
  exerciseExample,
  fetchOpenApi,
  OpenApiDocument,
  getRoutes,
  readinessPath,
  servesGet,
  RouteExample,
  routeKey,
} from './api-prober';
import { UserFacingError } from '../errors/errors';

function fixture(name: string): OpenApiDocument {
  return JSON.parse(
    readFileSync(
      join(__dirname, '__fixtures__', 'openapi', `${name}.json`),
      'utf8',
    ),
  );
}

/**
 * Served by FastAPI 0.142.2 with pydantic 2.13.5 (OpenAPI 3.1) for an app
 * that documents examples each way pydantic 2 allows: json_schema_extra,
 * Field(examples), Body(examples), openapi_examples, Path/Query(examples),
 * the deprecated Body(example); plus routes that cannot be exercised (no
 * example, a path parameter without one, HTTPBearer, a required header).
 */
const PYDANTIC2 = fixture('fastapi-0.142-pydantic-2');
/** FastAPI 0.9x with pydantic 1 (OpenAPI 3.0.2): schema_extra `example`, Field(example), Path(example), allOf-wrapped nested model, a multipart upload. */
const PYDANTIC1 = fixture('fastapi-0.95-pydantic-1');
/** examples/synth's app as FastAPI 0.142.2 serves it: no example anywhere. */
const SYNTH = fixture('synth-fastapi-0.142');

const ok = (schema: object) => ({
  description: 'Successful Response',
  content: { 'application/json': { schema } },
});
const VALIDATION_ERROR = {
  description: 'Validation Error',
  content: {
    'application/json': {
      schema: { $ref: '#/components/schemas/HTTPValidationError' },
    },
  },
};
const FASTAPI_ERRORS = {
  HTTPValidationError: {
    properties: {
      detail: {
        items: { $ref: '#/components/schemas/ValidationError' },
        type: 'array',
        title: 'Detail',
      },
    },
    type: 'object',
    title: 'HTTPValidationError',
  },
  ValidationError: {
    properties: {
      loc: {
        items: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
        type: 'array',
        title: 'Location',
      },
      msg: { type: 'string', title: 'Message' },
      type: { type: 'string', title: 'Error Type' },
    },
    type: 'object',
    required: ['loc', 'msg', 'type'],
    title: 'ValidationError',
  },
};

/** A FastAPI-shaped document with one POST route whose JSON media type is `media`. */
function oneRoute(
  media: object,
  opts: {
    schemas?: Record<string, object>;
    path?: string;
    operation?: object;
    pathItem?: object;
    responses?: object;
    components?: object;
    security?: unknown;
  } = {},
): OpenApiDocument {
  return {
    openapi: '3.1.0',
    info: { title: 'app', version: '0.1.0' },
    ...(opts.security ? { security: opts.security } : {}),
    paths: {
      [opts.path ?? '/predict']: {
        ...opts.pathItem,
        post: {
          summary: 'Predict',
          operationId: 'predict_predict_post',
          requestBody: {
            content: { 'application/json': media },
            required: true,
          },
          responses: opts.responses ?? {
            '200': ok({}),
            '422': VALIDATION_ERROR,
          },
          ...opts.operation,
        },
      },
    },
    components: {
      ...opts.components,
      schemas: { ...opts.schemas, ...FASTAPI_ERRORS },
    },
  };
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const ITEM = {
  properties: {
    name: { type: 'string', title: 'Name' },
    price: { type: 'number', title: 'Price' },
  },
  type: 'object',
  required: ['name', 'price'],
  title: 'Item',
};

function only(doc: OpenApiDocument) {
  const { examples, without } = documentedExamples(doc);
  expect(examples.length + without.length).toBe(1);
  return examples[0] ?? without[0];
}

describe('routeKey', () => {
  it.each([
    ['post', '/predict', 'POST /predict'],
    ['PUT', '/items/{id}', 'PUT /items/{id}'],
    ['Patch', '/', 'PATCH /'],
  ])('%s %s → %s', (method, path, key) => {
    expect(routeKey(method, path)).toBe(key);
  });
});

describe('the GET routes a document lists', () => {
  const doc: OpenApiDocument = {
    openapi: '3.1.0',
    paths: {
      '/predict': { post: { responses: {} } },
      '/predict/info': { get: { responses: {} } },
      '/': { get: { responses: {} } },
      '/items/{id}': { get: { responses: {} } },
      '/shared': { $ref: '#/components/pathItems/shared' },
    },
    components: { pathItems: { shared: { get: { responses: {} } } } },
  };

  it('lists every GET route, sorted, {parameters} kept, POST-only routes left out', () => {
    expect(getRoutes(doc)).toEqual([
      '/',
      '/items/{id}',
      '/predict/info',
      '/shared',
    ]);
    expect(getRoutes({ openapi: '3.1.0' })).toEqual([]);
  });

  it.each<[string, boolean]>([
    ['/', true],
    ['/predict/info', true],
    ['/predict/info/', true],
    ['/predict/info?verbose=1', true],
    ['/items/42', true],
    ['/shared', true],
    ['/health', false],
    ['/predict', false],
    ['/items', false],
    ['/items/42/more', false],
  ])('%s served: %s', (path, served) => {
    expect(servesGet(doc, path)).toBe(served);
  });
});

describe('readinessPath', () => {
  const gets = (...paths: string[]): OpenApiDocument => ({
    openapi: '3.1.0',
    paths: Object.fromEntries(
      paths.map((p) => [p, { get: { responses: { '200': ok({}) } } }]),
    ),
  });

  it.each<[string[], string, string | undefined]>([
    [['/health', '/ready'], '/health', '/ready'],
    [['/health', '/readyz'], '/health', '/readyz'],
    [['/health', '/readiness'], '/health', '/readiness'],
    [['/health', '/health/ready'], '/health', '/health/ready'],
    [['/healthz', '/healthz/ready'], '/healthz', '/healthz/ready'],
    [['/health', '/v1/ready'], '/health', '/v1/ready'],
    [['/health', '/api/ready'], '/health', '/api/ready'],
    [['/health', '/health/ready/deep'], '/health', '/health/ready/deep'],
    [['/health', '/Ready'], '/health', '/Ready'],
    // several: the shortest, then a health prefix over a version prefix, then ready < readyz < readiness
    [
      ['/v1/ready', '/health/ready', '/readiness', '/ready'],
      '/health',
      '/ready',
    ],
    [['/v1/ready', '/health/ready'], '/health', '/health/ready'],
    [['/readiness', '/readyz'], '/health', '/readyz'],
    // never the liveness path, however it is written
    [['/ready'], '/ready', undefined],
    [['/ready/'], '/ready', undefined],
    [['/ready'], '/ready/', undefined],
    [['/ready', '/health/ready'], '/ready', '/health/ready'],
    // names that only look like readiness, and templated paths
    [
      [
        '/health',
        '/already',
        '/ready-check',
        '/model/ready-state',
        '/ready/{model}',
        '/v1/{model}/ready',
      ],
      '/health',
      undefined,
    ],
    [['/health', '/predict'], '/health', undefined],
  ])('%j with liveness %s → %s', (paths, liveness, expected) => {
    expect(readinessPath(gets(...paths), liveness)).toBe(expected);
  });

  it('reads the fixtures as FastAPI serves them', () => {
    expect(readinessPath(PYDANTIC2, '/health')).toBe('/ready');
    expect(readinessPath(PYDANTIC1, '/health')).toBe('/healthz/ready');
    expect(readinessPath(SYNTH, '/health')).toBe('/ready');
  });

  it('counts only GET routes', () => {
    const doc: OpenApiDocument = {
      openapi: '3.1.0',
      paths: {
        '/ready': { post: { responses: {} } },
        '/readyz': { get: { responses: {} } },
      },
    };
    expect(readinessPath(doc, '/health')).toBe('/readyz');
    delete doc.paths?.['/readyz'];
    expect(readinessPath(doc, '/health')).toBeUndefined();
  });

  it.each<[string, OpenApiDocument]>([
    ['no paths', { openapi: '3.1.0' }],
    ['paths that are not an object', { openapi: '3.1.0', paths: [] as never }],
    [
      'a path item that is not an object',
      { openapi: '3.1.0', paths: { '/ready': 'x' } },
    ],
  ])('answers undefined for %s', (_what, doc) => {
    expect(readinessPath(doc, '/health')).toBeUndefined();
  });
});

describe('documentedExamples on documents FastAPI serves', () => {
  const summary = (doc: OpenApiDocument) => {
    const { examples, without } = documentedExamples(doc);
    return {
      examples: examples.map((e) => ({
        key: routeKey(e.method, e.path),
        requestPath: e.requestPath,
        source: e.source,
        body: e.body,
        ...(e.headers ? { headers: e.headers } : {}),
        response: e.response && {
          status: e.response.status,
          title: e.response.schema?.title,
        },
      })),
      without: without.map((w) => `${routeKey(w.method, w.path)}: ${w.reason}`),
    };
  };

  it('FastAPI 0.142 + pydantic 2 (OpenAPI 3.1): every way to document an example', () => {
    expect(summary(PYDANTIC2)).toEqual({
      examples: [
        {
          key: 'POST /predict',
          requestPath: '/predict',
          source: 'schema examples[0]', // model_config json_schema_extra
          body: { rows: [[5.1, 3.5, 1.4, 0.2]] },
          response: { status: '200', title: 'Prediction' },
        },
        {
          key: 'POST /score',
          requestPath: '/score',
          source: 'property examples', // Field(examples=...), nested model included, optional coupon taken, notes left out
          body: {
            tenure_months: 12,
            monthly_charges: 70.5,
            contract: 'month-to-month',
            meta: { source: 'crm' },
            coupon: 'SPRING',
          },
          response: { status: '201', title: 'Score' },
        },
        {
          key: 'POST /batch',
          requestPath: '/batch',
          source: 'schema examples[0]', // Body(examples=[...]) on a list
          body: [
            {
              tenure_months: 1,
              monthly_charges: 20,
              contract: 'one-year',
              meta: { source: 'web' },
            },
          ],
          response: { status: '200', title: 'Response Batch Batch Post' },
        },
        {
          key: 'PUT /models/{version}/settings',
          requestPath: '/models/v2/settings', // Path(examples=["v2"])
          source: 'requestBody examples.strict', // openapi_examples, the first
          body: { threshold: 0.9, name: 'strict' },
          response: { status: '200', title: 'Settings' },
        },
        {
          key: 'POST /explain',
          requestPath: '/explain?top_k=3', // Query(examples=[3]), required
          source: 'schema examples[0]',
          body: { rows: [[5.1, 3.5, 1.4, 0.2]] },
          response: { status: '200', title: 'Response Explain Explain Post' },
        },
        {
          key: 'POST /legacy',
          requestPath: '/legacy',
          source: 'requestBody example', // the deprecated Body(example=...)
          body: { name: 'legacy', threshold: 0.3 },
          response: { status: '200', title: 'Response Legacy Legacy Post' },
        },
      ],
      without: [
        'PATCH /models/{version}: path parameter {version} has no example',
        'POST /feedback: its request body (Prediction) documents no example',
        'POST /admin/reload: needs credentials (HTTPBearer), which docker-test does not send',
        'POST /tenant: required header x-tenant has no example',
      ],
    });
  });

  it('FastAPI 0.9x + pydantic 1 (OpenAPI 3.0): example, not examples; allOf around nested models; multipart skipped', () => {
    expect(summary(PYDANTIC1)).toEqual({
      examples: [
        {
          key: 'POST /predict',
          requestPath: '/predict',
          source: 'schema example', // Config.schema_extra = {"example": ...}
          body: { rows: [[5.1, 3.5, 1.4, 0.2]] },
          response: { status: '200', title: 'Prediction' },
        },
        {
          key: 'POST /score',
          requestPath: '/score',
          source: 'property examples', // Field(example=...), Meta behind allOf
          body: {
            tenure_months: 12,
            monthly_charges: 70.5,
            contract: 'month-to-month',
            meta: { source: 'crm' },
            coupon: 'SPRING',
          },
          response: { status: '201', title: 'Score' },
        },
        {
          key: 'PUT /settings/{version}',
          requestPath: '/settings/v2', // Path(example=...) on the parameter itself
          source: 'requestBody examples.strict', // Body(examples={...})
          body: { threshold: 0.9, name: 'strict' },
          response: { status: '200', title: 'Settings' },
        },
        {
          key: 'POST /legacy',
          requestPath: '/legacy',
          source: 'requestBody example', // Body(example=...)
          body: { name: 'legacy', threshold: 0.3 },
          response: { status: '200', title: undefined },
        },
      ],
      without: [
        'POST /feedback: its request body (Prediction) documents no example',
      ],
    });
  });

  it('examples/synth as generated: /predict has no example, and says so', () => {
    expect(summary(SYNTH)).toEqual({
      examples: [],
      without: [
        'POST /predict: its request body (PredictRequest) documents no example',
      ],
    });
  });

  it('inlines every $ref of the response schema, so the checks need no document', () => {
    const predict = documentedExamples(PYDANTIC2).examples.find(
      (e) => e.path === '/batch',
    );
    expect(predict?.response?.schema).toEqual({
      items: {
        properties: {
          churn_probability: { type: 'number', title: 'Churn Probability' },
          model_version: {
            type: 'string',
            title: 'Model Version',
            default: '1',
          },
        },
        type: 'object',
        required: ['churn_probability'],
        title: 'Score',
      },
      type: 'array',
      title: 'Response Batch Batch Post',
    });
    expect(JSON.stringify(documentedExamples(PYDANTIC2))).not.toContain('$ref');
  });
});

describe('documentedExamples: where the example comes from', () => {
  const MODEL_WITH_EXAMPLES = {
    ...ITEM,
    examples: [{ name: 'from the model', price: 1 }],
  };

  it.each<[string, OpenApiDocument, unknown, string]>([
    [
      'the media type example over the schema',
      oneRoute(
        { schema: ref('Item'), example: { name: 'media', price: 2 } },
        { schemas: { Item: MODEL_WITH_EXAMPLES } },
      ),
      { name: 'media', price: 2 },
      'requestBody example',
    ],
    [
      'the first examples-map entry with a value (an externalValue is not fetched)',
      oneRoute(
        {
          schema: ref('Item'),
          examples: {
            file: { externalValue: 'https://example.com/item.json' },
            normal: {
              summary: 'A normal item',
              value: { name: 'Bar', price: 1 },
            },
            other: { value: { name: 'Baz', price: 2 } },
          },
        },
        { schemas: { Item: MODEL_WITH_EXAMPLES } },
      ),
      { name: 'Bar', price: 1 },
      'requestBody examples.normal',
    ],
    [
      'an examples-map entry that is a $ref to components/examples',
      oneRoute(
        {
          schema: ref('Item'),
          examples: { shared: { $ref: '#/components/examples/Shared' } },
        },
        {
          schemas: { Item: ITEM },
          components: {
            examples: { Shared: { value: { name: 'shared', price: 3 } } },
          },
        },
      ),
      { name: 'shared', price: 3 },
      'requestBody examples.shared',
    ],
    [
      "Body(examples=...) beside the $ref over the model's own",
      oneRoute(
        {
          schema: {
            ...ref('Item'),
            examples: [{ name: 'from Body', price: 4 }],
          },
        },
        { schemas: { Item: MODEL_WITH_EXAMPLES } },
      ),
      { name: 'from Body', price: 4 },
      'schema examples[0]',
    ],
    [
      'the model examples (json_schema_extra)',
      oneRoute(
        { schema: ref('Item') },
        { schemas: { Item: MODEL_WITH_EXAMPLES } },
      ),
      { name: 'from the model', price: 1 },
      'schema examples[0]',
    ],
    [
      'the model example (pydantic 1 schema_extra)',
      oneRoute(
        { schema: ref('Item') },
        { schemas: { Item: { ...ITEM, example: { name: 'v1', price: 5 } } } },
      ),
      { name: 'v1', price: 5 },
      'schema example',
    ],
    [
      'property examples when the examples list is empty',
      oneRoute(
        { schema: ref('Item') },
        {
          schemas: {
            Item: {
              ...ITEM,
              examples: [],
              properties: {
                name: { type: 'string', title: 'Name', examples: ['pen'] },
                price: { type: 'number', title: 'Price', examples: [1.5, 2] },
              },
            },
          },
        },
      ),
      { name: 'pen', price: 1.5 },
      'property examples',
    ],
    [
      'property examples across allOf parts',
      oneRoute(
        { schema: { allOf: [ref('Base'), ref('Extra')] } },
        {
          schemas: {
            Base: {
              type: 'object',
              properties: { name: { type: 'string', examples: ['pen'] } },
              required: ['name'],
              title: 'Base',
            },
            Extra: {
              type: 'object',
              properties: { price: { type: 'number', example: 2 } },
              required: ['price'],
              title: 'Extra',
            },
          },
        },
      ),
      { name: 'pen', price: 2 },
      'property examples',
    ],
    [
      'an optional property example alone when nothing is required',
      oneRoute(
        { schema: ref('Filters') },
        {
          schemas: {
            Filters: {
              type: 'object',
              properties: {
                limit: {
                  anyOf: [{ type: 'integer' }, { type: 'null' }],
                  title: 'Limit',
                  examples: [10],
                },
                q: {
                  anyOf: [{ type: 'string' }, { type: 'null' }],
                  title: 'Q',
                },
              },
              title: 'Filters',
            },
          },
        },
      ),
      { limit: 10 },
      'property examples',
    ],
    [
      'a list of models from the items',
      oneRoute(
        { schema: { type: 'array', items: ref('Item'), title: 'Items' } },
        { schemas: { Item: MODEL_WITH_EXAMPLES } },
      ),
      [{ name: 'from the model', price: 1 }],
      'items schema examples[0]',
    ],
    [
      'a model that contains itself, from the examples it has',
      oneRoute(
        { schema: ref('Node') },
        {
          schemas: {
            Node: {
              type: 'object',
              properties: {
                name: { type: 'string', examples: ['root'] },
                children: { type: 'array', items: ref('Node') },
              },
              required: ['name'],
              title: 'Node',
            },
          },
        },
      ),
      { name: 'root' },
      'property examples',
    ],
    [
      'a property named like a keyword',
      oneRoute(
        { schema: ref('Odd') },
        {
          schemas: {
            Odd: {
              type: 'object',
              properties: {
                default: { ...ref('Inner') },
                example: { type: 'string', examples: ['x'] },
              },
              required: ['default', 'example'],
              title: 'Odd',
            },
            Inner: {
              type: 'object',
              properties: { v: { type: 'integer', examples: [1] } },
              required: ['v'],
            },
          },
        },
      ),
      { default: { v: 1 }, example: 'x' },
      'property examples',
    ],
  ])('%s', (_what, doc, body, source) => {
    expect(only(doc)).toMatchObject({
      method: 'POST',
      path: '/predict',
      body,
      source,
    });
  });

  it.each<[string, OpenApiDocument, string]>([
    [
      'a model without any example',
      oneRoute({ schema: ref('Item') }, { schemas: { Item: ITEM } }),
      'its request body (Item) documents no example',
    ],
    [
      'a required property without an example, naming it',
      oneRoute(
        { schema: ref('Item') },
        {
          schemas: {
            Item: {
              ...ITEM,
              properties: {
                name: { type: 'string', examples: ['pen'] },
                price: { type: 'number' },
              },
            },
          },
        },
      ),
      'its request body (Item) documents no example, and its required field price has none',
    ],
    [
      'required fields of a nested model, by their dotted path',
      oneRoute(
        { schema: ref('Order') },
        {
          schemas: {
            Order: {
              type: 'object',
              properties: { item: ref('Item'), qty: { type: 'integer' } },
              required: ['item', 'qty'],
              title: 'Order',
            },
            Item: {
              ...ITEM,
              properties: {
                name: { type: 'string', examples: ['pen'] },
                price: { type: 'number' },
              },
            },
          },
        },
      ),
      'its request body (Order) documents no example, and its required fields item.price, qty have none',
    ],
    [
      'a required field the model does not describe',
      oneRoute({
        schema: {
          type: 'object',
          properties: { a: { type: 'string', examples: ['x'] } },
          required: ['a', 'b'],
          title: 'AB',
        },
      }),
      'its request body (AB) documents no example, and its required field b has none',
    ],
    [
      'a dict body (FastAPI: `data: dict = Body()`)',
      oneRoute({
        schema: { additionalProperties: true, type: 'object', title: 'Data' },
      }),
      'its request body (Data) documents no example',
    ],
    [
      'a schema-less JSON body',
      oneRoute({}),
      'its request body documents no example',
    ],
    [
      'a model that contains itself and has no example',
      oneRoute(
        { schema: ref('Node') },
        {
          schemas: {
            Node: {
              type: 'object',
              properties: { children: { type: 'array', items: ref('Node') } },
              required: ['children'],
              title: 'Node',
            },
          },
        },
      ),
      'its request body (Node) documents no example',
    ],
    [
      'an examples map whose only entry is an externalValue',
      oneRoute(
        {
          schema: ref('Item'),
          examples: { file: { externalValue: 'item.json' } },
        },
        { schemas: { Item: ITEM } },
      ),
      'its request body (Item) documents no example',
    ],
  ])('none for %s', (_what, doc, reason) => {
    expect(only(doc)).toEqual({ method: 'POST', path: '/predict', reason });
  });

  it('takes the JSON media type whatever its parameters or suffix', () => {
    for (const type of [
      'application/json; charset=utf-8',
      'application/vnd.churn.v1+json',
    ]) {
      const doc = oneRoute({});
      const post = (
        doc.paths?.['/predict'] as {
          post: { requestBody: { content: object } };
        }
      ).post;
      post.requestBody.content = {
        'text/plain': { schema: { type: 'string', examples: ['text'] } },
        [type]: { schema: ref('Item'), example: { name: 'json', price: 1 } },
      };
      expect(only(doc)).toMatchObject({ body: { name: 'json', price: 1 } });
    }
  });

  it('resolves a requestBody that is a $ref to components/requestBodies', () => {
    const doc = oneRoute(
      {},
      {
        components: {
          requestBodies: {
            ItemBody: {
              content: {
                'application/json': {
                  schema: ref('Item'),
                  example: { name: 'rb', price: 1 },
                },
              },
            },
          },
        },
        schemas: { Item: ITEM },
      },
    );
    (
      doc.paths?.['/predict'] as { post: { requestBody: unknown } }
    ).post.requestBody = {
      $ref: '#/components/requestBodies/ItemBody',
    };
    expect(only(doc)).toMatchObject({
      body: { name: 'rb', price: 1 },
      source: 'requestBody example',
    });
  });

  it('lists no route without a JSON body: GET, DELETE, no requestBody, multipart, form', () => {
    const doc: OpenApiDocument = {
      openapi: '3.1.0',
      paths: {
        '/health': { get: { responses: { '200': ok({}) } } },
        '/items/{id}': {
          delete: {
            requestBody: { content: { 'application/json': { example: {} } } },
            responses: {},
          },
        },
        '/reload': {
          post: {
            responses: { '204': { description: 'Successful Response' } },
          },
        },
        '/upload': {
          post: {
            requestBody: {
              content: {
                'multipart/form-data': {
                  schema: ref('Body_upload_upload_post'),
                },
              },
              required: true,
            },
            responses: {},
          },
        },
        '/login': {
          post: {
            requestBody: {
              content: {
                'application/x-www-form-urlencoded': {
                  schema: { type: 'object' },
                },
              },
            },
            responses: {},
          },
        },
      },
      components: {
        schemas: {
          Body_upload_upload_post: {
            type: 'object',
            properties: { file: { type: 'string', format: 'binary' } },
          },
        },
      },
    };
    expect(documentedExamples(doc)).toEqual({ examples: [], without: [] });
  });

  it('takes PUT and PATCH as well as POST, in document order', () => {
    const body = { content: { 'application/json': { example: { a: 1 } } } };
    const doc: OpenApiDocument = {
      openapi: '3.1.0',
      paths: {
        '/b': {
          patch: { requestBody: body, responses: {} },
          put: { requestBody: body, responses: {} },
        },
        '/a': { post: { requestBody: body, responses: {} } },
      },
    };
    expect(
      documentedExamples(doc).examples.map((e) => routeKey(e.method, e.path)),
    ).toEqual(['PATCH /b', 'PUT /b', 'POST /a']);
  });
});

describe('documentedExamples: parameters and credentials', () => {
  const withParams = (
    path: string,
    parameters: unknown[],
    pathItem: object = {},
  ) =>
    oneRoute(
      { example: { a: 1 } },
      { path, operation: { parameters }, pathItem },
    );

  it.each<[string, OpenApiDocument, string]>([
    [
      'a parameter example (OpenAPI 3.0, FastAPI 0.9x Path(example=...))',
      withParams('/items/{item_id}', [
        {
          name: 'item_id',
          in: 'path',
          required: true,
          schema: { type: 'integer' },
          example: 7,
        },
      ]),
      '/items/7',
    ],
    [
      'a parameter examples map',
      withParams('/items/{item_id}', [
        {
          name: 'item_id',
          in: 'path',
          required: true,
          schema: { type: 'integer' },
          examples: { one: { value: 8 } },
        },
      ]),
      '/items/8',
    ],
    [
      'schema examples (FastAPI ≥0.99 Path(examples=[...]))',
      withParams('/items/{item_id}', [
        {
          name: 'item_id',
          in: 'path',
          required: true,
          schema: { type: 'integer', examples: [9], title: 'Item Id' },
        },
      ]),
      '/items/9',
    ],
    [
      'a schema example',
      withParams('/items/{item_id}', [
        {
          name: 'item_id',
          in: 'path',
          required: true,
          schema: { type: 'integer', example: 10 },
        },
      ]),
      '/items/10',
    ],
    [
      'a path-item parameter, URL-encoded',
      withParams('/models/{name}/predict', [], {
        parameters: [
          {
            name: 'name',
            in: 'path',
            required: true,
            schema: { type: 'string', examples: ['a b/c'] },
          },
        ],
      }),
      '/models/a%20b%2Fc/predict',
    ],
    [
      'a parameter given as a $ref',
      (() => {
        const doc = withParams('/items/{item_id}', [
          { $ref: '#/components/parameters/ItemId' },
        ]);
        doc.components = {
          ...doc.components,
          parameters: {
            ItemId: {
              name: 'item_id',
              in: 'path',
              required: true,
              example: 11,
            },
          },
        };
        return doc;
      })(),
      '/items/11',
    ],
    [
      'a required query parameter, appended; optional ones left out',
      withParams('/explain', [
        {
          name: 'top_k',
          in: 'query',
          required: true,
          schema: { type: 'integer', examples: [3] },
        },
        {
          name: 'verbose',
          in: 'query',
          required: false,
          schema: { type: 'boolean' },
        },
        {
          name: 'lang',
          in: 'query',
          required: false,
          schema: { type: 'string', examples: ['en'] },
        },
      ]),
      '/explain?top_k=3',
    ],
    [
      'a required list query parameter, repeated',
      withParams('/explain', [
        {
          name: 'f',
          in: 'query',
          required: true,
          schema: {
            type: 'array',
            items: { type: 'string' },
            examples: [['a', 'b']],
          },
        },
      ]),
      '/explain?f=a&f=b',
    ],
  ])('substitutes %s', (_what, doc, requestPath) => {
    expect(only(doc)).toMatchObject({ requestPath, body: { a: 1 } });
  });

  it('sends a required header from its example, and the operation parameter wins over the path item', () => {
    const doc = withParams(
      '/tenant',
      [
        {
          name: 'x-tenant',
          in: 'header',
          required: true,
          schema: { type: 'string', examples: ['acme'] },
        },
      ],
      {
        parameters: [
          {
            name: 'x-tenant',
            in: 'header',
            required: true,
            schema: { type: 'string' },
          },
        ],
      },
    );
    expect(only(doc)).toMatchObject({
      requestPath: '/tenant',
      headers: { 'x-tenant': 'acme' },
    });
  });

  it.each<[string, OpenApiDocument, string]>([
    [
      'a path parameter without an example',
      withParams('/items/{item_id}', [
        {
          name: 'item_id',
          in: 'path',
          required: true,
          schema: { type: 'integer' },
        },
      ]),
      'path parameter {item_id} has no example',
    ],
    [
      'a path template whose parameter is not declared',
      withParams('/items/{item_id}', []),
      'path parameter {item_id} has no example',
    ],
    [
      'a required query parameter without an example',
      withParams('/explain', [
        {
          name: 'top_k',
          in: 'query',
          required: true,
          schema: { type: 'integer' },
        },
      ]),
      'required query parameter top_k has no example',
    ],
    [
      'a required header without an example',
      withParams('/tenant', [
        {
          name: 'x-tenant',
          in: 'header',
          required: true,
          schema: { type: 'string' },
        },
      ]),
      'required header x-tenant has no example',
    ],
    [
      'a required cookie',
      withParams('/session', [
        {
          name: 'sid',
          in: 'cookie',
          required: true,
          schema: { type: 'string', examples: ['s'] },
        },
      ]),
      'needs the cookie sid, which docker-test does not send',
    ],
    [
      'two of them, both named',
      withParams('/a/{x}/{y}', [
        { name: 'x', in: 'path', required: true, example: 1 },
        { name: 'y', in: 'path', required: true },
        { name: 'q', in: 'query', required: true },
      ]),
      'path parameter {y} has no example; required query parameter q has no example',
    ],
    [
      'an operation behind a security scheme',
      oneRoute(
        { example: { a: 1 } },
        { operation: { security: [{ HTTPBearer: [] }] } },
      ),
      'needs credentials (HTTPBearer), which docker-test does not send',
    ],
    [
      'a document-wide security requirement',
      oneRoute(
        { example: { a: 1 } },
        { security: [{ APIKeyHeader: [] }, { OAuth2PasswordBearer: [] }] },
      ),
      'needs credentials (APIKeyHeader, OAuth2PasswordBearer), which docker-test does not send',
    ],
  ])('not exercised: %s', (_what, doc, reason) => {
    const r = only(doc);
    expect(r).toEqual({ method: 'POST', path: expect.any(String), reason });
  });

  it.each<[string, OpenApiDocument]>([
    [
      'an operation that lifts the document-wide requirement (security: [])',
      oneRoute(
        { example: { a: 1 } },
        { security: [{ HTTPBearer: [] }], operation: { security: [] } },
      ),
    ],
    [
      'optional credentials ({} among the requirements)',
      oneRoute(
        { example: { a: 1 } },
        { operation: { security: [{}, { HTTPBearer: [] }] } },
      ),
    ],
  ])('exercised: %s', (_what, doc) => {
    expect(only(doc)).toMatchObject({ body: { a: 1 } });
  });
});

describe('documentedExamples: the documented success response', () => {
  const responseOf = (responses: object, components: object = {}) =>
    (
      only(
        oneRoute(
          { example: { a: 1 } },
          { responses, components, schemas: { Item: ITEM } },
        ),
      ) as RouteExample
    ).response;

  it.each<[string, object, RouteExample['response']]>([
    [
      'the lowest 2xx, not the 422 FastAPI adds',
      {
        '422': VALIDATION_ERROR,
        '201': ok(ref('Item')),
        '200': ok({ type: 'string' }),
      },
      {
        status: '200',
        mediaType: 'application/json',
        schema: { type: 'string' },
      },
    ],
    [
      '201 when that is the only success',
      { '201': ok(ref('Item')), '422': VALIDATION_ERROR },
      { status: '201', mediaType: 'application/json', schema: ITEM },
    ],
    [
      '204: no body to check',
      {
        '204': { description: 'Successful Response' },
        '422': VALIDATION_ERROR,
      },
      { status: '204' },
    ],
    [
      '2XX when no code is given',
      { '2XX': ok(ref('Item')) },
      { status: '2XX', mediaType: 'application/json', schema: ITEM },
    ],
    [
      'a success without content',
      { '202': { description: 'Accepted' } },
      { status: '202' },
    ],
    [
      'a text/plain success: no JSON asked for',
      {
        '200': {
          description: 'ok',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
      },
      { status: '200', mediaType: 'text/plain' },
    ],
    [
      'nothing from `default`',
      { default: ok(ref('Item')), '422': VALIDATION_ERROR },
      undefined,
    ],
  ])('%s', (_what, responses, expected) => {
    expect(responseOf(responses)).toEqual(expected);
  });

  it('resolves a response given as a $ref to components/responses', () => {
    expect(
      responseOf(
        { '200': { $ref: '#/components/responses/Ok' } },
        { responses: { Ok: ok(ref('Item')) } },
      ),
    ).toEqual({
      status: '200',
      mediaType: 'application/json',
      schema: ITEM,
    });
  });

  it('names a bare model by its ref and cuts a cycle to {}', () => {
    const doc = oneRoute(
      { example: {} },
      {
        responses: { '200': ok(ref('Tree')) },
        schemas: {
          Tree: {
            type: 'object',
            properties: { children: { type: 'array', items: ref('Tree') } },
          },
        },
      },
    );
    expect((only(doc) as RouteExample).response?.schema).toEqual({
      type: 'object',
      properties: { children: { type: 'array', items: {} } },
      title: 'Tree',
    });
  });
});

// ---------------------------------------------------------------------------
// Against a real server on 127.0.0.1

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
type Reply = { status: number; body?: string | object; type?: string } | 'hang';

async function serve(reply: (r: Received) => Reply): Promise<{
  base: string;
  port: number;
  received: Received[];
  server: Server;
}> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(r);
      const out = reply(r);
      if (out === 'hang') return;
      const text =
        out.body === undefined
          ? ''
          : typeof out.body === 'string'
            ? out.body
            : JSON.stringify(out.body);
      res.writeHead(out.status, {
        'content-type':
          out.type ??
          (typeof out.body === 'object'
            ? 'application/json'
            : 'text/plain; charset=utf-8'),
      });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  servers.push(server);
  return { base: `http://127.0.0.1:${port}`, port, received, server };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((r) => {
          s.closeAllConnections();
          s.close(() => r());
        }),
    ),
  );
});

/** A port nothing listens on: one a server just released. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const PREDICT = documentedExamples(PYDANTIC2).examples.find(
  (e) => e.path === '/predict',
) as RouteExample;
const GOOD = {
  label: 1,
  probability: 0.93,
  explanation: null,
  scores: [0.07, 0.93],
};
const VALIDATION_DETAIL = {
  detail: [
    {
      type: 'missing',
      loc: ['body', 'rows'],
      msg: 'Field required',
      input: {},
    },
  ],
};

describe('exerciseExample', () => {
  it('sends the example as JSON to 127.0.0.1 and passes a documented answer', async () => {
    const app = await serve(() => ({ status: 200, body: GOOD }));
    expect(await exerciseExample(app.base, PREDICT)).toBeUndefined();
    expect(app.received).toHaveLength(1);
    const [r] = app.received;
    expect(r).toMatchObject({ method: 'POST', url: '/predict' });
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers.host).toBe(`127.0.0.1:${app.port}`);
    expect(JSON.parse(r.body)).toEqual({ rows: [[5.1, 3.5, 1.4, 0.2]] });
  });

  it.each<[string, Reply, string | undefined]>([
    ['all keys, right types', { status: 200, body: GOOD }, undefined],
    [
      'an Optional field left out',
      { status: 200, body: { label: 1, probability: 0.5, scores: [] } },
      undefined,
    ],
    [
      'an integer where a number is documented',
      { status: 200, body: { ...GOOD, probability: 1 } },
      undefined,
    ],
    [
      'keys the schema does not name',
      { status: 200, body: { ...GOOD, model: 'v3' } },
      undefined,
    ],
    ['another 2xx than documented', { status: 201, body: GOOD }, undefined],
    [
      '503 while the model loads',
      { status: 503, body: { detail: 'model not loaded yet' } },
      'POST /predict answered 503: {"detail":"model not loaded yet"}',
    ],
    [
      'a 500 in plain text',
      { status: 500, body: 'Internal Server Error' },
      'POST /predict answered 500: Internal Server Error',
    ],
    [
      'a 404 with no body',
      { status: 404 },
      'POST /predict answered 404: (empty body)',
    ],
    [
      'a required key missing',
      { status: 200, body: { label: 1, scores: [0.07, 0.93] } },
      'POST /predict: the response lacks probability (required by Prediction): {"label":1,"scores":[0.07,0.93]}',
    ],
    [
      'several required keys missing',
      { status: 200, body: { label: 1 } },
      'POST /predict: the response lacks probability, scores (required by Prediction): {"label":1}',
    ],
    [
      'a string where a number is documented',
      { status: 200, body: { ...GOOD, probability: '0.93' } },
      'POST /predict: the response does not match Prediction: probability is a string (documented: number): {"label":1,"probability":"0.93","explanation":null,"scores":[0.07,0.93]}',
    ],
    [
      'a fraction where an integer is documented, and an object for a list',
      { status: 200, body: { ...GOOD, label: 1.5, scores: {} } },
      'POST /predict: the response does not match Prediction: label is a number (documented: integer), scores is an object (documented: array): {"label":1.5,"probability":0.93,"explanation":null,"scores":{}}',
    ],
    [
      'a number for Optional[str] (anyOf string, null)',
      { status: 200, body: { ...GOOD, explanation: 5 } },
      'POST /predict: the response does not match Prediction: explanation is an integer (documented: string or null): {"label":1,"probability":0.93,"explanation":5,"scores":[0.07,0.93]}',
    ],
    [
      'null for a required number',
      { status: 200, body: { ...GOOD, probability: null } },
      'POST /predict: the response does not match Prediction: probability is null (documented: number): {"label":1,"probability":null,"explanation":null,"scores":[0.07,0.93]}',
    ],
    [
      'a list where an object is documented',
      { status: 200, body: [GOOD] },
      'POST /predict: the response is an array, documented as object (Prediction): [{"label":1,"probability":0.93,"explanation":null,"scores":[0.07,0.93]}]',
    ],
    [
      'the documented example refused with 422',
      { status: 422, body: VALIDATION_DETAIL },
      'POST /predict: the documented example was refused with 422: {"detail":[{"type":"missing","loc":["body","rows"],"msg":"Field required","input":{}}]} (the example in the API docs does not match the request schema)',
    ],
    [
      'an HTML page with 200',
      {
        status: 200,
        body: '<!DOCTYPE html>\n<html>\n  <body>ok</body>\n</html>',
        type: 'text/html',
      },
      'POST /predict answered 200 with a body that is not JSON: <!DOCTYPE html> <html> <body>ok</body> </html>',
    ],
    [
      'an empty 200',
      { status: 200, body: '', type: 'application/json' },
      'POST /predict answered 200 with a body that is not JSON: (empty body)',
    ],
  ])('%s', async (_what, reply, expected) => {
    const app = await serve(() => reply);
    expect(await exerciseExample(app.base, PREDICT)).toBe(expected);
  });

  it('cuts a long body to 200 characters on one line', async () => {
    const long = `Traceback (most recent call last):\n${'  File "app.py", line 1, in predict\n'.repeat(20)}RuntimeError: boom`;
    const app = await serve(() => ({ status: 500, body: long }));
    const problem = await exerciseExample(app.base, PREDICT);
    expect(problem).not.toContain('\n');
    expect(problem).toMatch(
      /^POST \/predict answered 500: Traceback \(most recent call last\): File "app\.py", line 1, in predict File/,
    );
    expect(problem?.endsWith('…')).toBe(true);
    expect(problem?.length).toBe(
      'POST /predict answered 500: '.length + 200 + 1,
    );
  });

  it('sends the method, substituted path, query and headers of the example', async () => {
    const app = await serve(() => ({
      status: 200,
      body: { threshold: 0.9, name: 'strict' },
    }));
    const ex: RouteExample = {
      method: 'PUT',
      path: '/models/{version}/settings',
      requestPath: '/models/v2/settings?dry_run=true',
      body: { threshold: 0.9, name: 'strict' },
      source: 'requestBody examples.strict',
      headers: { 'x-tenant': 'acme' },
      response: {
        status: '200',
        mediaType: 'application/json',
        schema: { type: 'object', required: ['name'], title: 'Settings' },
      },
    };
    expect(await exerciseExample(app.base, ex)).toBeUndefined();
    expect(app.received[0]).toMatchObject({
      method: 'PUT',
      url: '/models/v2/settings?dry_run=true',
    });
    expect(app.received[0].headers['x-tenant']).toBe('acme');
  });

  it('names the sent path in its problems', async () => {
    const app = await serve(() => ({
      status: 404,
      body: { detail: 'Not Found' },
    }));
    const ex = {
      ...PREDICT,
      method: 'PUT' as const,
      path: '/models/{version}',
      requestPath: '/models/v2',
    };
    expect(await exerciseExample(app.base, ex)).toBe(
      'PUT /models/v2 answered 404: {"detail":"Not Found"}',
    );
  });

  it.each<[string, number | undefined, Reply, string | undefined]>([
    ['expectStatus met', 201, { status: 201, body: GOOD }, undefined],
    [
      'expectStatus missed by another 2xx',
      201,
      { status: 200, body: GOOD },
      'POST /predict answered 200 (expected 201): {"label":1,"probability":0.93,"explanation":null,"scores":[0.07,0.93]}',
    ],
    [
      'expectStatus 422 for an example meant to be refused',
      422,
      { status: 422, body: VALIDATION_DETAIL },
      undefined,
    ],
    [
      'expectStatus 422 and the example accepted',
      422,
      { status: 200, body: GOOD },
      'POST /predict answered 200 (expected 422): {"label":1,"probability":0.93,"explanation":null,"scores":[0.07,0.93]}',
    ],
    [
      'expectStatus 200 still holds the body to the schema',
      200,
      { status: 200, body: { label: 1 } },
      'POST /predict: the response lacks probability, scores (required by Prediction): {"label":1}',
    ],
  ])('%s', async (_what, expectStatus, reply, expected) => {
    const app = await serve(() => reply);
    expect(await exerciseExample(app.base, PREDICT, { expectStatus })).toBe(
      expected,
    );
  });

  const BATCH = documentedExamples(PYDANTIC2).examples.find(
    (e) => e.path === '/batch',
  ) as RouteExample;
  it.each<[string, RouteExample, Reply, string | undefined]>([
    [
      'a list response that is a list',
      BATCH,
      { status: 200, body: [{ churn_probability: 0.2, model_version: '1' }] },
      undefined,
    ],
    [
      'a list response that is an object',
      BATCH,
      { status: 200, body: { churn_probability: 0.2 } },
      'POST /batch: the response is an object, documented as array (Response Batch Batch Post): {"churn_probability":0.2}',
    ],
    [
      '204 documented, nothing answered',
      { ...PREDICT, response: { status: '204' } },
      { status: 204 },
      undefined,
    ],
    [
      '204 answered where 200 is documented: no body to hold',
      PREDICT,
      { status: 204 },
      undefined,
    ],
    [
      'a text/plain route answering text',
      { ...PREDICT, response: { status: '200', mediaType: 'text/plain' } },
      { status: 200, body: 'positive' },
      undefined,
    ],
    [
      'a JSON route answering text',
      {
        ...PREDICT,
        response: { status: '200', mediaType: 'application/json', schema: {} },
      },
      { status: 200, body: 'positive' },
      'POST /predict answered 200 with a body that is not JSON: positive',
    ],
    [
      'no documented response: any JSON',
      { ...PREDICT, response: undefined },
      { status: 200, body: { anything: true } },
      undefined,
    ],
    [
      'no documented response: still JSON',
      { ...PREDICT, response: undefined },
      { status: 200, body: 'ok' },
      'POST /predict answered 200 with a body that is not JSON: ok',
    ],
    [
      'OpenAPI 3.0 nullable, null given',
      {
        ...PREDICT,
        response: {
          status: '200',
          schema: {
            type: 'object',
            properties: { explanation: { type: 'string', nullable: true } },
            title: 'Prediction',
          },
        },
      },
      { status: 200, body: { explanation: null } },
      undefined,
    ],
    [
      'OpenAPI 3.0 nullable, a number given',
      {
        ...PREDICT,
        response: {
          status: '200',
          schema: {
            type: 'object',
            properties: { explanation: { type: 'string', nullable: true } },
            title: 'Prediction',
          },
        },
      },
      { status: 200, body: { explanation: 3 } },
      'POST /predict: the response does not match Prediction: explanation is an integer (documented: string or null): {"explanation":3}',
    ],
    [
      'OpenAPI 3.1 type list',
      {
        ...PREDICT,
        response: {
          status: '200',
          schema: {
            type: 'object',
            properties: { n: { type: ['integer', 'null'] } },
          },
        },
      },
      { status: 200, body: { n: 'x' } },
      'POST /predict: the response does not match the API docs: n is a string (documented: integer or null): {"n":"x"}',
    ],
    [
      'oneOf of types',
      {
        ...PREDICT,
        response: {
          status: '200',
          schema: {
            type: 'object',
            properties: {
              v: { oneOf: [{ type: 'boolean' }, { type: 'string' }] },
            },
          },
        },
      },
      { status: 200, body: { v: true } },
      undefined,
    ],
    [
      'Optional[Model] (anyOf a model, null), a string given',
      documentedExamples(
        oneRoute(
          { example: { a: 1 } },
          {
            schemas: {
              Item: ITEM,
              Wrap: {
                type: 'object',
                properties: {
                  item: { anyOf: [ref('Item'), { type: 'null' }] },
                },
                title: 'Wrap',
              },
            },
            responses: { '200': ok(ref('Wrap')) },
          },
        ),
      ).examples[0],
      { status: 200, body: { item: 'pen' } },
      'POST /predict: the response does not match Wrap: item is a string (documented: object or null): {"item":"pen"}',
    ],
    [
      'an untyped branch: nothing to hold it to',
      {
        ...PREDICT,
        response: {
          status: '200',
          schema: {
            type: 'object',
            properties: { v: { anyOf: [{ type: 'string' }, {}] } },
          },
        },
      },
      { status: 200, body: { v: 5 } },
      undefined,
    ],
    [
      'a nested model behind allOf (pydantic 1), wrong type',
      documentedExamples(PYDANTIC1).examples.find(
        (e) => e.path === '/score',
      ) as RouteExample,
      { status: 201, body: { churn_probability: '0.4' } },
      'POST /score: the response does not match Score: churn_probability is a string (documented: number): {"churn_probability":"0.4"}',
    ],
  ])('%s', async (_what, ex, reply, expected) => {
    const app = await serve(() => reply);
    expect(await exerciseExample(app.base, ex)).toBe(expected);
  });

  it('reports a port nothing listens on', async () => {
    const port = await closedPort();
    expect(await exerciseExample(`http://127.0.0.1:${port}`, PREDICT)).toBe(
      'POST /predict got no answer (ECONNREFUSED)',
    );
  });

  it('gives up at its timeout, without retrying', async () => {
    const app = await serve(() => 'hang');
    const started = Date.now();
    expect(await exerciseExample(app.base, PREDICT, { timeoutMs: 200 })).toBe(
      'POST /predict got no answer within 0.2 s',
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(app.received).toHaveLength(1);
  });

  it('stops reading an answer larger than 32 MB', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 'x');
      let sent = 0;
      const more = () => {
        while (sent < 40 && !res.destroyed) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end();
      };
      res.on('error', () => undefined);
      more();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    const port = (server.address() as AddressInfo).port;
    expect(await exerciseExample(`http://127.0.0.1:${port}`, PREDICT)).toBe(
      'POST /predict answered more than 32 MB',
    );
  });

  it('talks to localhost over 127.0.0.1 and keeps the Host the caller wrote', async () => {
    const app = await serve(() => ({ status: 200, body: GOOD }));
    expect(
      await exerciseExample(`http://localhost:${app.port}`, PREDICT),
    ).toBeUndefined();
    expect(app.received[0].headers.host).toBe(`localhost:${app.port}`);
  });

  it('prefixes a base path (an app behind root_path)', async () => {
    const app = await serve((r) =>
      r.url === '/api/predict' ? { status: 200, body: GOOD } : { status: 404 },
    );
    expect(await exerciseExample(`${app.base}/api/`, PREDICT)).toBeUndefined();
    expect(await exerciseExample(app.base, PREDICT)).toBe(
      'POST /predict answered 404: (empty body)',
    );
  });

  const REFUSED = (port: number) => [
    `http://10.0.0.1:${port}`,
    `http://192.168.1.10:${port}`,
    `http://0.0.0.0:${port}`,
    `http://[::1]:${port}`,
    `http://example.com:${port}`,
    `http://127.0.0.1.nip.io:${port}`,
    `https://127.0.0.1:${port}`,
    `http://user:secret@127.0.0.1:${port}`,
    `ftp://127.0.0.1:${port}`,
  ];

  it('refuses every URL but the local published port, sending nothing', async () => {
    const app = await serve(() => ({ status: 200, body: GOOD }));
    for (const url of REFUSED(app.port)) {
      const attempt = exerciseExample(url, PREDICT, { timeoutMs: 500 });
      await expect(attempt).rejects.toThrow(UserFacingError);
      await expect(attempt).rejects.toThrow(
        `Refusing to send the API check to ${url}`,
      );
    }
    expect(app.received).toHaveLength(0);
    // and the same server is reachable through the allowed form
    expect(await exerciseExample(app.base, PREDICT)).toBeUndefined();
  });

  it('refuses what is not a URL', async () => {
    await expect(exerciseExample('127.0.0.1:8000', PREDICT)).rejects.toThrow(
      UserFacingError,
    );
    await expect(exerciseExample('not a url', PREDICT)).rejects.toThrow(
      '"not a url" is not a URL: the API check only sends requests to the container\'s published port, http://127.0.0.1:<port>.',
    );
  });
});

describe('fetchOpenApi', () => {
  it('reads the document FastAPI serves', async () => {
    const app = await serve((r) =>
      r.url === '/openapi.json'
        ? { status: 200, body: PYDANTIC2 }
        : { status: 404 },
    );
    expect(await fetchOpenApi(app.base, '/openapi.json')).toEqual(PYDANTIC2);
    expect(app.received[0]).toMatchObject({
      method: 'GET',
      url: '/openapi.json',
      body: '',
    });
    expect(app.received[0].headers.accept).toBe('application/json');
  });

  it('reads an OpenAPI 3.0 document from another path', async () => {
    const app = await serve((r) =>
      r.url === '/api/v1/openapi.json'
        ? { status: 200, body: PYDANTIC1 }
        : { status: 404 },
    );
    expect(await fetchOpenApi(app.base, '/api/v1/openapi.json')).toEqual(
      PYDANTIC1,
    );
  });

  it('answers undefined when the app serves none (openapi_url=None: 404)', async () => {
    const app = await serve(() => ({
      status: 404,
      body: { detail: 'Not Found' },
    }));
    expect(await fetchOpenApi(app.base, '/openapi.json')).toBeUndefined();
  });

  it.each<[string, Reply, string]>([
    [
      'a 500',
      { status: 500, body: 'Internal Server Error' },
      "Could not read the app's OpenAPI document: GET /openapi.json answered 500: Internal Server Error",
    ],
    [
      'an HTML page (the Swagger UI at the wrong path)',
      {
        status: 200,
        type: 'text/html; charset=utf-8',
        body: '<!DOCTYPE html>\n<html>\n<head>\n<title>churn scorer - Swagger UI</title>\n</head>\n</html>',
      },
      'GET /openapi.json answered text/html, not an OpenAPI document (<!DOCTYPE html> <html> <head> <title>churn scorer - Swagger UI</title> </head> </html>). FastAPI serves it at /openapi.json unless the app sets openapi_url.',
    ],
    [
      'JSON that is something else',
      { status: 200, body: { status: 'ok' } },
      'GET /openapi.json answered JSON that is not an OpenAPI document (no "openapi" version): {"status":"ok"}. FastAPI serves it at /openapi.json unless the app sets openapi_url.',
    ],
    [
      'a JSON list',
      { status: 200, body: [1, 2] },
      'GET /openapi.json answered JSON that is not an OpenAPI document (no "openapi" version): [1,2].',
    ],
    [
      'Swagger 2.0',
      { status: 200, body: { swagger: '2.0', info: {}, paths: {} } },
      'GET /openapi.json is a Swagger 2.0 document; the API check reads OpenAPI 3 (what FastAPI serves).',
    ],
    [
      'an OpenAPI version it does not know',
      { status: 200, body: { openapi: '4.0.0', paths: {} } },
      'GET /openapi.json declares OpenAPI 4.0.0; the API check reads OpenAPI 3.x.',
    ],
    [
      'paths that are not an object',
      { status: 200, body: { openapi: '3.1.0', paths: [] } },
      'GET /openapi.json is an OpenAPI document whose "paths" is not an object.',
    ],
  ])('fails clearly on %s', async (_what, reply, message) => {
    const app = await serve(() => reply);
    const attempt = fetchOpenApi(app.base, '/openapi.json');
    await expect(attempt).rejects.toThrow(UserFacingError);
    await expect(attempt).rejects.toThrow(message);
  });

  it('fails when nothing answers', async () => {
    const port = await closedPort();
    await expect(
      fetchOpenApi(`http://127.0.0.1:${port}`, '/openapi.json'),
    ).rejects.toThrow(
      "Could not read the app's OpenAPI document: GET /openapi.json got no answer (ECONNREFUSED).",
    );
  });

  it('fails at its timeout', async () => {
    const app = await serve(() => 'hang');
    await expect(fetchOpenApi(app.base, '/openapi.json', 200)).rejects.toThrow(
      "Could not read the app's OpenAPI document: GET /openapi.json got no answer within 0.2 s.",
    );
  });

  it('refuses a path without a leading slash', async () => {
    const app = await serve(() => ({ status: 200, body: PYDANTIC2 }));
    await expect(fetchOpenApi(app.base, 'openapi.json')).rejects.toThrow(
      'The OpenAPI document path "openapi.json" must start with /.',
    );
    expect(app.received).toHaveLength(0);
  });

  it('refuses a URL off this machine, sending nothing', async () => {
    const app = await serve(() => ({ status: 200, body: PYDANTIC2 }));
    await expect(
      fetchOpenApi(`http://10.1.2.3:${app.port}`, '/openapi.json', 500),
    ).rejects.toThrow(
      `Refusing to send the API check to http://10.1.2.3:${app.port}`,
    );
    await expect(
      fetchOpenApi(`http://localhost:${app.port}`, '/openapi.json'),
    ).resolves.toEqual(PYDANTIC2);
  });
});

describe('the whole probe against a FastAPI-like app', () => {
  /** Answers like the PYDANTIC2 app would once its model is loaded, or with 503 on /predict while not. */
  function fakeApp(modelLoaded: boolean) {
    return serve((r) => {
      const route = `${r.method} ${r.url.split('?')[0]}`;
      switch (route) {
        case 'GET /openapi.json':
          return { status: 200, body: PYDANTIC2 };
        case 'GET /health':
          return { status: 200, body: { status: 'ok' } };
        case 'POST /predict':
          return modelLoaded
            ? {
                status: 200,
                body: { label: 1, probability: 0.8, scores: [0.2, 0.8] },
              }
            : { status: 503, body: { detail: 'model not loaded yet' } };
        case 'POST /score':
          return {
            status: 201,
            body: { churn_probability: 0.3, model_version: '1' },
          };
        case 'POST /batch':
          return {
            status: 200,
            body: [{ churn_probability: 0.3, model_version: '1' }],
          };
        case 'PUT /models/v2/settings':
          return { status: 200, body: JSON.parse(r.body) };
        case 'POST /explain':
          return r.url.endsWith('?top_k=3')
            ? { status: 200, body: { top: [] } }
            : { status: 422, body: VALIDATION_DETAIL };
        case 'POST /legacy':
          return { status: 200, body: { ok: true } };
        default:
          return { status: 404, body: { detail: 'Not Found' } };
      }
    });
  }

  async function probe(modelLoaded: boolean) {
    const app = await fakeApp(modelLoaded);
    const doc = await fetchOpenApi(app.base, '/openapi.json');
    const { examples } = documentedExamples(doc as OpenApiDocument);
    const problems: string[] = [];
    for (const ex of examples) {
      const problem = await exerciseExample(app.base, ex);
      if (problem) problems.push(problem);
    }
    return { problems, sent: app.received.map((r) => `${r.method} ${r.url}`) };
  }

  it('passes every documented example of a working app', async () => {
    expect(await probe(true)).toEqual({
      problems: [],
      sent: [
        'GET /openapi.json',
        'POST /predict',
        'POST /score',
        'POST /batch',
        'PUT /models/v2/settings',
        'POST /explain?top_k=3',
        'POST /legacy',
      ],
    });
  });

  it('fails the app whose model never loaded, on the route that shows it', async () => {
    expect((await probe(false)).problems).toEqual([
      'POST /predict answered 503: {"detail":"model not loaded yet"}',
    ]);
  });
});
