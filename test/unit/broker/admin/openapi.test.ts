import { describe, expect, it } from 'vitest';
import { adminRoutes } from '../../../../broker/admin/admin-server.js';
import { buildOpenApiDocument, openApiPath, toOpenApi30 } from '../../../../broker/admin/openapi.js';

describe('OpenAPI document', () => {
  it('turns JSON Schema type unions with null into OpenAPI 3.0 nullable', () => {
    expect(
      toOpenApi30({ type: 'object', properties: { a: { type: ['string', 'null'] }, b: { type: 'integer' } } }),
    ).toEqual({
      type: 'object',
      properties: { a: { type: 'string', nullable: true }, b: { type: 'integer' } },
    });
  });

  it('lists every route with path parameters, an operation id and a schema per status', () => {
    const doc = buildOpenApiDocument(adminRoutes, '1.2.3') as {
      openapi: string;
      info: { version: string };
      paths: Record<
        string,
        { get: { operationId: string; parameters?: Array<{ name: string }>; responses: Record<string, unknown> } }
      >;
    };
    expect(doc.openapi).toBe('3.0.3');
    expect(doc.info.version).toBe('1.2.3');
    expect(Object.keys(doc.paths).sort()).toEqual(adminRoutes.map((r) => openApiPath(r.url)).sort());
    expect(doc.paths['/v1/topics/{name}'].get.parameters).toEqual([
      { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
    ]);
    expect(doc.paths['/v1/topics/{name}'].get.operationId).toBe('getV1TopicsByName');
    expect(Object.keys(doc.paths['/v1/groups/{id}'].get.responses)).toEqual(['200', '404', '503']);
    expect(JSON.stringify(doc)).not.toContain('"null"');
  });
});
