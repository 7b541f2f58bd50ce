// MaintainX's OpenAPI description (3.0), read from outside the repository at test time, and the
// checks the contract tests make with it: requests strictly (declared query names, values by their
// schemas, declared headers, the JSON body against the request body schema), answers leniently
// (their documented examples do not all satisfy their own schemas), webhook payloads strictly.
//
// The description is third-party reference data: nothing read from it is written into the
// repository. Where it is: MAINTAINX_OPENAPI, else DEFAULT_DESCRIPTION beside the repository.

import { existsSync, readFileSync } from "node:fs";
import Ajv, { type ErrorObject, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { sample } from "openapi-sampler";
import { it } from "vitest";
import { DESCRIPTION_ENV, descriptionPath, descriptionRequired } from "./openapi-location";

// biome-ignore lint/suspicious/noExplicitAny: the description is untyped JSON.
type Json = any;
type Schema = Record<string, Json>;

export interface Operation {
  method: string;
  /** The path template as the description writes it, e.g. `/workorders/{id}`. */
  template: string;
  definition: Schema;
  /** Path-level and operation-level parameters, `$ref`s resolved; the operation's win. */
  parameters: Schema[];
}

export interface Description {
  path: string;
  document: Json;
  /** The servers' base path, e.g. `/v1`, that every concrete path starts with. */
  basePath: string;
  /** The operation for a method and a concrete path (`/workorders/42`), or undefined when undocumented. */
  operation(method: string, concretePath: string): Operation | undefined;
  /** The payload schema of a webhook type (`x-webhooks.<TYPE>.post.requestBody`). */
  webhookSchema(type: string): Schema | undefined;
  webhookTypes(): string[];
}

let cached: { path: string; description: Description | undefined } | undefined;

/** The description, or undefined when the file is missing. A file that is not JSON fails loudly. */
export function loadDescription(path = descriptionPath()): Description | undefined {
  if (cached?.path === path) return cached.description;
  const description = existsSync(path) ? makeDescription(path, JSON.parse(readFileSync(path, "utf8"))) : undefined;
  cached = { path, description };
  return description;
}

function makeDescription(path: string, document: Json): Description {
  const serverUrl: string = document.servers?.[0]?.url ?? "/";
  const basePath = new URL(serverUrl, "http://base.invalid").pathname.replace(/\/+$/, "");
  const templates = Object.keys(document.paths ?? {}).map((template) => {
    const names: string[] = [];
    const source = template
      .split("/")
      .map((segment) =>
        segment.replace(/\{([^}]+)\}|[^{}]+/g, (part, name?: string) => {
          if (name === undefined) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
          names.push(name);
          return "([^/]+)";
        }),
      )
      .join("/");
    return { template, names, matcher: new RegExp(`^${source}$`) };
  });

  return {
    path,
    document,
    basePath,
    operation(method, concretePath) {
      const wanted = method.toLowerCase();
      // A literal path (`/workorders/search`) wins over a template that also matches it.
      const candidates = templates
        .filter((t) => t.matcher.test(concretePath) && document.paths[t.template][wanted])
        .sort((a, b) => a.names.length - b.names.length);
      const found = candidates[0];
      if (!found) return undefined;
      const item = document.paths[found.template];
      const definition = item[wanted];
      const byKey = new Map<string, Schema>();
      for (const p of [...(item.parameters ?? []), ...(definition.parameters ?? [])]) {
        const resolved = resolveRef(document, p);
        byKey.set(`${resolved.in}:${resolved.name}`, resolved);
      }
      return { method: wanted, template: found.template, definition, parameters: [...byKey.values()] };
    },
    webhookSchema(type) {
      const hooks = document["x-webhooks"] ?? {};
      if (!Object.hasOwn(hooks, type)) return undefined;
      return hooks[type]?.post?.requestBody?.content?.["application/json"]?.schema;
    },
    webhookTypes() {
      return Object.keys(document["x-webhooks"] ?? {}).sort();
    },
  };
}

function resolveRef(document: Json, value: Json): Json {
  let current = value;
  for (let depth = 0; current && typeof current.$ref === "string"; depth++) {
    if (depth > 20 || !current.$ref.startsWith("#/")) throw new Error(`Cannot resolve ${current.$ref}`);
    current = current.$ref
      .slice(2)
      .split("/")
      .map((s: string) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
      .reduce((node: Json, key: string) => node?.[key], document);
  }
  return current;
}

// ---------------------------------------------------------------------------------------------
// Schemas: OpenAPI 3.0 to JSON Schema, compiled once with ajv.

type Mode = "strict" | "lenient";

/**
 * OpenAPI 3.0 schema to JSON Schema: `nullable` becomes a null type (or a null branch), `$ref`s
 * are inlined, `example` is dropped. Lenient (for answers): only JSON types are checked, null is
 * accepted anywhere, and nothing is required, enumerated, formatted or forbidden.
 */
function toJsonSchema(document: Json, schema: Json, mode: Mode, seen: Set<Json> = new Set()): Json {
  if (Array.isArray(schema)) return schema.map((s) => toJsonSchema(document, s, mode, seen));
  if (!schema || typeof schema !== "object") return schema;
  const source = resolveRef(document, schema);
  if (seen.has(source)) return {};
  seen.add(source);
  const out: Schema = {};
  for (const [key, value] of Object.entries(source)) {
    if (key === "example" || key === "nullable" || key === "$ref") continue;
    if (mode === "lenient" && ["required", "enum", "format", "pattern", "minimum", "maximum"].includes(key)) continue;
    if (mode === "lenient" && key === "additionalProperties" && value === false) continue;
    if (key === "properties" || key === "patternProperties") {
      out[key] = Object.fromEntries(
        Object.entries(value as Schema).map(([name, s]) => [name, toJsonSchema(document, s, mode, seen)]),
      );
    } else if (["items", "additionalProperties", "not", "oneOf", "anyOf", "allOf"].includes(key)) {
      out[key] = typeof value === "object" ? toJsonSchema(document, value, mode, seen) : value;
    } else {
      out[key] = value;
    }
  }
  seen.delete(source);
  // Lenient: a branch that fails only on a missing or extra field is no reason to refuse an answer.
  if (mode === "lenient" && out.oneOf) {
    out.anyOf = out.oneOf;
    delete out.oneOf;
  }
  if (source.nullable === true || mode === "lenient") {
    if (typeof out.type === "string") out.type = [out.type, "null"];
    else if (out.type === undefined && (out.oneOf || out.anyOf || out.allOf)) return { anyOf: [{ type: "null" }, out] };
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  }
  return out;
}

function makeAjv(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, allowUnionTypes: true });
  addFormats(ajv);
  // Formats the description uses that JSON Schema does not define: accepted, not checked.
  for (const format of ["decimal", "integer", "binary", "float", "double", "int32", "int64"]) {
    ajv.addFormat(format, true);
  }
  return ajv;
}

const ajv = makeAjv();
const compiled = { strict: new WeakMap<object, ValidateFunction>(), lenient: new WeakMap<object, ValidateFunction>() };

function validatorFor(description: Description, schema: Schema, mode: Mode): ValidateFunction {
  let validate = compiled[mode].get(schema);
  if (!validate) {
    validate = ajv.compile(toJsonSchema(description.document, schema, mode));
    compiled[mode].set(schema, validate);
  }
  return validate;
}

function describeErrors(errors: ErrorObject[] | null | undefined, where: string): string[] {
  return (errors ?? []).map((e) => {
    const detail =
      e.keyword === "additionalProperties"
        ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
        : e.keyword === "enum"
          ? ` (${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)})`
          : "";
    return `${where}${e.instancePath || ""}: ${e.message ?? e.keyword}${detail}`;
  });
}

/** Problems of a value against a schema of the description: required, types, enums, formats, bounds. */
export function strictProblems(description: Description, schema: Schema, value: unknown, where = "body"): string[] {
  const validate = validatorFor(description, schema, "strict");
  return validate(value) ? [] : describeErrors(validate.errors, where);
}

/** Problems of a value against a schema, JSON types only (an answer: see toJsonSchema). */
export function lenientProblems(description: Description, schema: Schema, value: unknown, where = "body"): string[] {
  const validate = validatorFor(description, schema, "lenient");
  return validate(value) ? [] : describeErrors(validate.errors, where);
}

/**
 * Paths of properties in `value` that `schema` does not name (in `properties` or `required`),
 * whether or not the schema forbids them; maps (`additionalProperties: {schema}`) are walked.
 */
export function undeclaredProperties(description: Description, schema: Json, value: unknown, at = ""): string[] {
  const s = resolveRef(description.document, schema);
  if (!s || typeof s !== "object" || value === null || typeof value !== "object") return [];
  const branches = [...(s.oneOf ?? []), ...(s.anyOf ?? []), ...(s.allOf ?? [])].map((b: Json) =>
    resolveRef(description.document, b),
  );
  if (Array.isArray(value)) {
    return s.items ? value.flatMap((item, i) => undeclaredProperties(description, s.items, item, `${at}/${i}`)) : [];
  }
  const declared = new Map<string, Json>();
  for (const node of [s, ...branches]) {
    for (const [name, sub] of Object.entries(node.properties ?? {})) declared.set(name, sub);
    for (const name of node.required ?? []) if (!declared.has(name)) declared.set(name, {});
  }
  const map = [s, ...branches].find((node) => typeof node.additionalProperties === "object")?.additionalProperties;
  const isObjectSchema = s.type === "object" || s.properties || branches.some((b: Json) => b.properties);
  return Object.entries(value as Record<string, unknown>).flatMap(([name, item]) => {
    const sub = declared.get(name) ?? map;
    if (sub === undefined) return isObjectSchema ? [`${at}/${name}`] : [];
    return undeclaredProperties(description, sub, item, `${at}/${name}`);
  });
}

// ---------------------------------------------------------------------------------------------
// Requests.

export interface RequestRecord {
  method: string;
  /** The full URL, or a path with its query. */
  url: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** The raw body; "" or undefined when there is none. */
  body?: string | undefined;
}

export interface RequestCheck {
  /** `GET /workorders`, as the description names it; undefined when undocumented. */
  operation: Operation | undefined;
  problems: string[];
}

/** Values of a query or header parameter, as their schema types them (query values are text). */
function coerce(schema: Json, raw: string): unknown {
  const types = Array.isArray(schema?.type) ? schema.type : [schema?.type];
  if ((types.includes("integer") || types.includes("number")) && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(raw)) {
    return Number(raw);
  }
  if (types.includes("boolean") && (raw === "true" || raw === "false")) return raw === "true";
  return raw;
}

function parameterValue(description: Description, parameter: Schema, raws: string[]): unknown {
  const schema = resolveRef(description.document, parameter.schema ?? {});
  if (schema.type === "array") {
    const items = resolveRef(description.document, schema.items ?? {});
    // Form style, exploded (OpenAPI's default for query): `assets=1&assets=2`.
    const values = parameter.explode === false ? raws.flatMap((r) => r.split(",")) : raws;
    return values.map((r) => coerce(items, r));
  }
  return raws.length === 1 ? coerce(schema, raws[0] as string) : raws.map((r) => coerce(schema, r));
}

/**
 * Everything wrong with a request for the operation the description documents at its method and
 * path: undocumented operation, undeclared query names, parameter values (path, query, header)
 * against their schemas, required parameters, the bearer credential, and the JSON body against
 * the request body schema (required fields, types, enums, `additionalProperties` as declared).
 */
export function checkRequest(description: Description, request: RequestRecord): RequestCheck {
  const url = new URL(request.url, "http://request.invalid");
  const problems: string[] = [];
  const method = request.method.toUpperCase();
  if (!url.pathname.startsWith(`${description.basePath}/`)) {
    return { operation: undefined, problems: [`${method} ${url.pathname}: not under ${description.basePath}`] };
  }
  const path = url.pathname.slice(description.basePath.length);
  const operation = description.operation(method, path);
  if (!operation) return { operation, problems: [`${method} ${path}: no such operation in the description`] };
  const name = `${method} ${operation.template}`;

  // Path parameters, by position in the template; one the description forgot to declare is text.
  const templateSegments = operation.template.split("/");
  const pathSegments = path.split("/");
  templateSegments.forEach((segment, i) => {
    const match = /^\{(.+)\}$/.exec(segment);
    if (!match) return;
    const declared = operation.parameters.find((p) => p.in === "path" && p.name === match[1]);
    const raw = decodeURIComponent(pathSegments[i] ?? "");
    if (raw === "") problems.push(`${name}: path parameter ${match[1]} is empty`);
    if (declared) problems.push(...paramProblems(description, declared, [raw], `${name} path ${match[1]}`));
  });

  // Query: every name declared (the description spells names like `updatedAt[gte]` literally).
  const query = new Map<string, string[]>();
  for (const [key, value] of url.searchParams) query.set(key, [...(query.get(key) ?? []), value]);
  for (const [key, raws] of query) {
    const declared = operation.parameters.find((p) => p.in === "query" && p.name === key);
    if (!declared) {
      problems.push(`${name}: query parameter ${key} is not declared`);
      continue;
    }
    problems.push(...paramProblems(description, declared, raws, `${name} query ${key}`));
  }

  // Headers: values of the declared ones; undeclared headers (accept, user-agent…) are HTTP's business.
  for (const declared of operation.parameters.filter((p) => p.in === "header")) {
    const raw = request.headers[String(declared.name).toLowerCase()];
    if (raw !== undefined)
      problems.push(...paramProblems(description, declared, [raw], `${name} header ${declared.name}`));
  }

  for (const declared of operation.parameters.filter((p) => p.required && p.in !== "path")) {
    const present =
      declared.in === "query" ? query.has(declared.name) : request.headers[String(declared.name).toLowerCase()];
    if (!present) problems.push(`${name}: required ${declared.in} parameter ${declared.name} is missing`);
  }

  problems.push(...securityProblems(description, operation, request, name));
  problems.push(...bodyProblems(description, operation, request, name));
  return { operation, problems };
}

function paramProblems(description: Description, parameter: Schema, raws: string[], where: string): string[] {
  const schema = parameter.schema ?? {};
  return strictProblems(description, schema, parameterValue(description, parameter, raws), where);
}

function securityProblems(description: Description, operation: Operation, request: RequestRecord, name: string) {
  const requirements: Schema[] = operation.definition.security ?? description.document.security ?? [];
  if (requirements.length === 0) return [];
  const schemes = description.document.components?.securitySchemes ?? {};
  const satisfied = requirements.some((requirement) =>
    Object.keys(requirement).every((key) => {
      const scheme = resolveRef(description.document, schemes[key] ?? {});
      if (scheme.type === "http" && String(scheme.scheme).toLowerCase() === "bearer") {
        return /^bearer \S+$/i.test(request.headers.authorization ?? "");
      }
      if (scheme.type === "apiKey" && scheme.in === "header")
        return Boolean(request.headers[scheme.name.toLowerCase()]);
      return true;
    }),
  );
  return satisfied ? [] : [`${name}: no credential the description's security asks for (Authorization: Bearer)`];
}

function bodyProblems(description: Description, operation: Operation, request: RequestRecord, name: string) {
  const raw = request.body ?? "";
  const requestBody = operation.definition.requestBody
    ? resolveRef(description.document, operation.definition.requestBody)
    : undefined;
  if (!requestBody) return raw === "" ? [] : [`${name}: sends a body the operation does not take`];
  if (raw === "") return requestBody.required ? [`${name}: the request body is required`] : [];
  const contentType = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  const media = requestBody.content?.[contentType];
  if (!media) return [`${name}: content-type "${contentType}" is not one the operation takes`];
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return [`${name}: the body is not JSON`];
  }
  return media.schema ? strictProblems(description, media.schema, body, `${name} body`) : [];
}

// ---------------------------------------------------------------------------------------------
// Answers.

/** The JSON schema of an operation's answer with this status (e.g. 200), `$ref`s resolved. */
export function answerSchema(description: Description, operation: Operation, status: number): Schema | undefined {
  const response = resolveRef(description.document, operation.definition.responses?.[String(status)]);
  return response?.content?.["application/json"]?.schema;
}

/** The answer's documented examples: the media type's `example` / `examples`, the schema's `example`. */
export function documentedExamples(
  description: Description,
  operation: Operation,
  status: number,
): Array<{ name: string; value: unknown }> {
  const response = resolveRef(description.document, operation.definition.responses?.[String(status)]);
  const media = response?.content?.["application/json"];
  if (!media) return [];
  const out: Array<{ name: string; value: unknown }> = [];
  if (media.example !== undefined) out.push({ name: "example", value: media.example });
  for (const [key, example] of Object.entries(media.examples ?? {})) {
    const resolved = resolveRef(description.document, example);
    if (resolved?.value !== undefined) out.push({ name: `examples.${key}`, value: resolved.value });
  }
  const schema = media.schema ? resolveRef(description.document, media.schema) : undefined;
  if (schema?.example !== undefined) out.push({ name: "schema example", value: schema.example });
  return out;
}

function withoutExamples(value: Json): Json {
  if (Array.isArray(value)) return value.map(withoutExamples);
  if (!value || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== "example" && key !== "examples" && key !== "default")
      .map(([key, v]) => [key, withoutExamples(v)]),
  );
}

/** The names schemaSamples gives its samples. */
export const SAMPLE_KINDS = {
  examples: "sample with the description's example values",
  required: "sample of the required fields only",
  types: "sample from the types alone",
} as const;

/**
 * Samples of a schema with openapi-sampler: every property with the description's example values,
 * only the required properties, and every property from the types alone (examples removed).
 */
export function schemaSamples(description: Description, schema: Schema): Array<{ name: string; value: unknown }> {
  const inlined = toSampleable(description, schema);
  const options = { skipWriteOnly: true, quiet: true } as const;
  return [
    { name: SAMPLE_KINDS.examples, value: sample(inlined, options) },
    { name: SAMPLE_KINDS.required, value: sample(inlined, { ...options, skipNonRequired: true }) },
    { name: SAMPLE_KINDS.types, value: sample(withoutExamples(inlined), options) },
  ];
}

function toSampleable(description: Description, schema: Json, seen: Set<Json> = new Set()): Json {
  if (Array.isArray(schema)) return schema.map((s) => toSampleable(description, s, seen));
  if (!schema || typeof schema !== "object") return schema;
  const source = resolveRef(description.document, schema);
  if (seen.has(source)) return {};
  seen.add(source);
  const out = Object.fromEntries(
    Object.entries(source).map(([key, value]) => [
      key,
      key === "example" || key === "enum" || key === "default" ? value : toSampleable(description, value, seen),
    ]),
  );
  seen.delete(source);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The suites' guard.

/**
 * The description for a contract test file, or undefined when it is missing: the file's suites
 * are then skipped (the run's one-line notice comes from node-setup.ts), unless
 * MAINTAINX_OPENAPI_REQUIRED=1, when this registers a failing test instead.
 */
export function contractDescription(): Description | undefined {
  const path = descriptionPath();
  const description = loadDescription(path);
  if (!description && descriptionRequired()) {
    it("finds MaintainX's OpenAPI description (MAINTAINX_OPENAPI_REQUIRED=1)", () => {
      throw new Error(`MaintainX OpenAPI description not found at ${path} (set ${DESCRIPTION_ENV})`);
    });
  }
  return description;
}
