import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { MirrorListError } from './mirrorlist-error.js';

/** One parsed element: attributes under `@_name`, text under `#text`, children as arrays. */
export interface XmlElement {
  readonly [key: string]: unknown;
}

/** A parsed XML document with what is needed to point at a line. */
export interface XmlDocument {
  /** The root element's local name (namespace prefix removed). */
  readonly rootName: string;
  readonly root: XmlElement;
  /** 1-based line of an element, when the parser recorded where it starts. */
  lineOf(element: XmlElement): number | undefined;
  /** The element's text with the predefined entities and character references decoded, trimmed. */
  text(element: XmlElement, what: string): string;
  /** An attribute's value, decoded, or undefined. */
  attribute(element: XmlElement, name: string, what: string): string | undefined;
  /** Child elements by local name. */
  children(element: XmlElement, name: string): readonly XmlElement[];
}

/** Limits applied while parsing. */
export interface XmlLimits {
  /** Largest document accepted, in bytes (UTF-8). */
  readonly maxBytes: number;
  /** Deepest element nesting accepted. */
  readonly maxDepth: number;
}

const DECLARATION = /<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)\b/i;
const META = XMLParser.getMetaDataSymbol() as unknown as symbol;
const PREDEFINED: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

/**
 * Parses untrusted XML. Entity expansion is off and any document type
 * declaration is refused before parsing (no internal subset, no external
 * entities, no "billion laughs"); only the five predefined entities and
 * numeric character references are decoded, by us, in one pass.
 */
export function parseXml(text: string, source: string, limits: XmlLimits): XmlDocument {
  if (Buffer.byteLength(text, 'utf8') > limits.maxBytes) {
    throw new MirrorListError(`The document is larger than ${limits.maxBytes} bytes`, {
      problem: 'too-large',
      source,
    });
  }
  const declaration = DECLARATION.exec(text);
  if (declaration) {
    throw new MirrorListError(
      `The document has a <!${declaration[1]!.toUpperCase()}> declaration; DTDs and entity declarations are refused`,
      { problem: 'dtd-forbidden', source, line: lineAt(text, declaration.index) },
    );
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new MirrorListError(`The document is not well-formed XML: ${valid.err.msg}`, {
      problem: 'xml-syntax',
      source,
      line: valid.err.line,
      column: valid.err.col,
    });
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '@_',
      processEntities: false,
      htmlEntities: false,
      parseTagValue: false,
      parseAttributeValue: false,
      trimValues: true,
      ignoreDeclaration: true,
      ignorePiTags: true,
      alwaysCreateTextNode: true,
      captureMetaData: true,
      maxNestedTags: limits.maxDepth,
      transformTagName: localName,
      isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
    }).parse(text) as Record<string, unknown>;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const deep = /nest/i.test(message);
    throw new MirrorListError(
      deep
        ? `The document nests elements deeper than ${limits.maxDepth}`
        : `The document could not be parsed: ${message}`,
      { problem: deep ? 'too-large' : 'xml-syntax', source, cause: error },
    );
  }
  const roots = Object.keys(parsed).filter((key) => !key.startsWith('#') && !key.startsWith('?'));
  const rootName = roots[0];
  const root = rootName === undefined ? undefined : (parsed[rootName] as XmlElement[])[0];
  if (rootName === undefined || root === undefined || roots.length > 1) {
    throw new MirrorListError('The document has no single root element', {
      problem: 'xml-syntax',
      source,
    });
  }

  const lineOf = (element: XmlElement): number | undefined => {
    const meta = (element as Record<symbol, { startIndex?: number } | undefined>)[META];
    return meta?.startIndex === undefined ? undefined : lineAt(text, meta.startIndex);
  };
  const decode = (raw: string, element: XmlElement, what: string): string =>
    raw.replace(/&([^;\s&]{0,32});?/g, (whole, name: string) => {
      const value = entityValue(whole, name);
      if (value === undefined) {
        throw new MirrorListError(`Undefined or malformed entity reference "${whole}" in ${what}`, {
          problem: 'xml-syntax',
          source,
          ...lineField(lineOf(element)),
        });
      }
      return value;
    });

  return {
    rootName,
    root,
    lineOf,
    text(element, what) {
      const raw = element['#text'];
      return decode(
        typeof raw === 'string' ? raw : raw === undefined ? '' : String(raw),
        element,
        what,
      ).trim();
    },
    attribute(element, name, what) {
      const raw = element[`@_${name}`];
      return raw === undefined ? undefined : decode(String(raw), element, what).trim();
    },
    children(element, name) {
      const value = element[name];
      return Array.isArray(value) ? (value as XmlElement[]) : [];
    },
  };
}

/** Spreads a `line` field when the line is known. */
export function lineField(line: number | undefined): { line?: number } {
  return line === undefined ? {} : { line };
}

function entityValue(whole: string, name: string): string | undefined {
  if (!whole.endsWith(';')) return undefined;
  const predefined = PREDEFINED[name];
  if (predefined !== undefined) return predefined;
  const numeric = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(name);
  if (!numeric) return undefined;
  const code = numeric[1] !== undefined ? parseInt(numeric[1], 16) : Number(numeric[2]);
  if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return undefined;
  return String.fromCodePoint(code);
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon === -1 ? name : name.slice(colon + 1);
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
