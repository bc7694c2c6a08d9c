/**
 * The OpenAPI 3.0 document served at /docs, built from the same route table (paths, summaries, response schemas)
 * that registers the fastify routes, so the two cannot drift apart.
 */

export interface RouteDoc {
  method: 'GET';
  /** fastify path syntax (`/v1/topics/:name`). */
  url: string;
  summary: string;
  /** Status code -> JSON Schema (or a text body when `text` is set). */
  responses: Record<number, { description: string; schema: object; text?: boolean }>;
}

/** `/v1/topics/:name` -> `/v1/topics/{name}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

export function buildOpenApiDocument(routes: readonly RouteDoc[], version: string): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const r of routes) {
    const params = [...r.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const responses: Record<string, object> = {};
    for (const [status, res] of Object.entries(r.responses)) {
      const mediaType = res.text ? 'text/plain' : 'application/json';
      responses[status] = {
        description: res.description,
        content: { [mediaType]: { schema: toOpenApi30(res.schema) } },
      };
    }
    paths[openApiPath(r.url)] ??= {};
    paths[openApiPath(r.url)][r.method.toLowerCase()] = {
      summary: r.summary,
      operationId: operationId(r),
      ...(params.length ? { parameters: params } : {}),
      responses,
    };
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'Berth admin API',
      version,
      description: 'Read-only views of a Berth broker, health checks and Prometheus metrics.',
    },
    paths,
  };
}

function operationId(r: RouteDoc): string {
  return `${r.method.toLowerCase()}${r.url
    .split('/')
    .filter(Boolean)
    .map((p) => (p.startsWith(':') ? `By${cap(p.slice(1))}` : cap(p)))
    .join('')}`;
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * OpenAPI 3.0 schemas are not full JSON Schema: `type: ['string', 'null']` must be written as `type: 'string',
 * nullable: true`. Route schemas use the JSON Schema form (fastify needs it); this converts for the document.
 */
export function toOpenApi30(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toOpenApi30);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema as Record<string, unknown>)) {
    if (k === 'type' && Array.isArray(v)) {
      const types = v.filter((t) => t !== 'null');
      out.type = types[0];
      if (types.length !== v.length) out.nullable = true;
    } else out[k] = toOpenApi30(v);
  }
  return out;
}
