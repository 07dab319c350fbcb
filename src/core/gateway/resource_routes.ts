/**
 * Which member of the aggregate a resource URI belongs to: the member that listed it (when two
 * list the same URI, the first configured), else the first member one of whose resource
 * templates matches it. Filled from the members' list answers, shared by every session of the
 * aggregate.
 * @module
 */
import type { Logger } from "../../io/log.ts";
import { isObject } from "../../protocol/jsonrpc.ts";

/** What a route leads to: a member, known by its name in logs. */
export interface RouteTarget {
  /** The member's name. */
  readonly name: string;
}

/** A resource template of a member, compiled for matching. */
interface Template {
  readonly uriTemplate: string;
  readonly pattern: RegExp;
}

/** What one RFC 6570 expression matches, by its operator. */
const EXPRESSION_PATTERNS: Readonly<Record<string, string>> = {
  "": "[^/?#]+",
  "+": ".*",
  "#": "(?:#.*)?",
  ".": "(?:\\.[^/?#]*)*",
  "/": "(?:/[^/?#]*)*",
  ";": "(?:;[^/?#]*)*",
  "?": "(?:\\?[^#]*)?",
  "&": "(?:&[^#]*)?",
};

/**
 * The pattern of the URIs an RFC 6570 template expands to, loosely: each expression matches
 * what its operator can produce (a simple `{var}` one path segment or more of text without
 * `/`, `?` or `#`), the rest literally. `undefined` when the template is malformed.
 */
export function templatePattern(uriTemplate: string): RegExp | undefined {
  let source = "";
  let rest = uriTemplate;
  while (rest.length > 0) {
    const open = rest.indexOf("{");
    const literal = open === -1 ? rest : rest.slice(0, open);
    source += literal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    if (open === -1) break;
    const close = rest.indexOf("}", open);
    if (close === -1) return undefined;
    const expression = rest.slice(open + 1, close);
    const operator = /^[+#./;?&]/.test(expression) ? expression[0] : "";
    source += EXPRESSION_PATTERNS[operator];
    rest = rest.slice(close + 1);
  }
  return new RegExp(`^${source}$`, "s");
}

/** The resource routes of one aggregate, for members of type `M`. */
export class ResourceRoutes<M extends RouteTarget> {
  readonly #order: () => readonly M[];
  readonly #log: Logger;
  /** The member that owns each URI listed. */
  readonly #owners = new Map<string, M>();
  /** Each member's templates, as it last listed them. */
  readonly #templates = new Map<M, Template[]>();
  /** URIs listed by two members, logged once each. */
  readonly #clashes = new Set<string>();

  /** Routes among the members `order` returns, in configured order. */
  constructor(order: () => readonly M[], log: Logger) {
    this.#order = order;
    this.#log = log;
  }

  /**
   * Takes note of the resources `member` listed; returns those it owns (a URI an earlier
   * member lists too is that member's, and is left out of this member's list).
   */
  recordResources(member: M, resources: readonly unknown[]): unknown[] {
    const order = this.#order();
    return resources.filter((resource) => {
      const uri = isObject(resource) ? resource.uri : undefined;
      if (typeof uri !== "string") return true;
      const owner = this.#owners.get(uri);
      if (owner === undefined || owner === member || !order.includes(owner)) {
        this.#owners.set(uri, member);
        return true;
      }
      const [first, second] = order.indexOf(owner) < order.indexOf(member)
        ? [owner, member]
        : [member, owner];
      if (!this.#clashes.has(uri)) {
        this.#clashes.add(uri);
        this.#log.warning(
          `Servers '${first.name}' and '${second.name}' both list resource ${uri}; the ` +
            `aggregate serves '${first.name}'s`,
        );
      }
      this.#owners.set(uri, first);
      return first === member;
    });
  }

  /** Takes note of a page of `member`'s templates; `fromStart`: its first page. */
  recordTemplates(member: M, templates: readonly unknown[], fromStart: boolean): void {
    const known = fromStart ? [] : this.#templates.get(member) ?? [];
    for (const template of templates) {
      const uriTemplate = isObject(template) ? template.uriTemplate : undefined;
      if (typeof uriTemplate !== "string") continue;
      const pattern = templatePattern(uriTemplate);
      if (pattern) known.push({ uriTemplate, pattern });
    }
    this.#templates.set(member, known);
  }

  /** The member `uri` belongs to: who listed it, else whose template matches it first. */
  ownerOfUri(uri: string): M | undefined {
    const order = this.#order();
    const owner = this.#owners.get(uri);
    if (owner !== undefined && order.includes(owner)) return owner;
    return order.find((member) =>
      this.#templates.get(member)?.some(({ pattern }) => pattern.test(uri))
    );
  }

  /** The member that listed the template `uriTemplate` (a completion's `ref/resource`). */
  ownerOfTemplate(uriTemplate: string): M | undefined {
    return this.#order().find((member) =>
      this.#templates.get(member)?.some((template) => template.uriTemplate === uriTemplate)
    );
  }

  /** Forgets what `member` listed (it left the aggregate). */
  forget(member: M): void {
    this.#templates.delete(member);
    for (const [uri, owner] of this.#owners) {
      if (owner === member) this.#owners.delete(uri);
    }
  }
}
