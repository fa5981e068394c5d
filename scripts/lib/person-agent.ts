/**
 * A headless person for the sign-in tests and the demo: a browser reduced to
 * what the service's screens need. It keeps cookies, follows redirects by
 * hand, reads the one form of each server-rendered page and submits it the
 * way a browser would (application/x-www-form-urlencoded), choosing buttons
 * by their visible label and fields by their name, as a person would.
 *
 * Plain CommonJS with Node's global fetch and no ESM-only imports, so jest,
 * the OIDC driver (a child process) and scripts/demo.ts can all load it.
 *
 * It never fetches the app's redirect_uri, nor anything outside the issuer's
 * origin: the authorization response is handed back to the caller (the
 * "app"), which is what a browser would deliver it to.
 */

// ---- entities -----------------------------------------------------------------

/**
 * Named character references the screens may use. Pages from a template
 * escape `& < > " '`; the rest cover typographic characters in copy. An
 * unknown name is left as it is, which is what a browser does too.
 */
const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0',
  copy: '\u00a9', reg: '\u00ae', trade: '\u2122', hellip: '\u2026', mdash: '\u2014', ndash: '\u2013',
  lsquo: '\u2018', rsquo: '\u2019', ldquo: '\u201c', rdquo: '\u201d', laquo: '\u00ab', raquo: '\u00bb',
  middot: '\u00b7', bull: '\u2022', times: '\u00d7', larr: '\u2190', rarr: '\u2192', check: '\u2713',
  euro: '\u20ac', sect: '\u00a7', para: '\u00b6', deg: '\u00b0', shy: '\u00ad', zwj: '\u200d', zwnj: '\u200c',
};

/** Characters the HTML spec substitutes for numeric references in the C1 range (Windows-1252). */
const C1_REPLACEMENTS: Readonly<Record<number, number>> = {
  0x80: 0x20ac, 0x82: 0x201a, 0x83: 0x0192, 0x84: 0x201e, 0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021, 0x88: 0x02c6,
  0x89: 0x2030, 0x8a: 0x0160, 0x8b: 0x2039, 0x8c: 0x0152, 0x8e: 0x017d, 0x91: 0x2018, 0x92: 0x2019, 0x93: 0x201c,
  0x94: 0x201d, 0x95: 0x2022, 0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02dc, 0x99: 0x2122, 0x9a: 0x0161, 0x9b: 0x203a,
  0x9c: 0x0153, 0x9e: 0x017e, 0x9f: 0x0178,
};

/**
 * Decodes character references: `&name;` (from a small table), `&#123;` and
 * `&#x7b;` (the semicolon optional, as browsers accept). Invalid code points
 * become U+FFFD, as the HTML spec says.
 */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(?:#([0-9]{1,8});?|#[xX]([0-9a-fA-F]{1,8});?|([A-Za-z][A-Za-z0-9]{0,31});)/g, (m, dec?: string, hex?: string, name?: string) => {
    if (name !== undefined) return NAMED_ENTITIES[name] ?? m;
    let cp = dec !== undefined ? parseInt(dec, 10) : parseInt(hex!, 16);
    cp = C1_REPLACEMENTS[cp] ?? cp;
    if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return '\ufffd';
    return String.fromCodePoint(cp);
  });
}

// ---- HTML: a tokenizer and the parts of a page a person uses ----------------

type Token =
  | { kind: 'start'; name: string; attrs: Map<string, string>; selfClosing: boolean }
  | { kind: 'end'; name: string }
  | { kind: 'text'; text: string };

/** Elements whose content is not markup: skipped (script, style) or kept as text (title, textarea). */
const RAW_TEXT = new Set(['script', 'style', 'template']);
const RCDATA = new Set(['title', 'textarea']);
/** Elements after which a person sees a line break, so page text keeps words of separate blocks apart. */
const BLOCK = new Set([
  'address', 'article', 'aside', 'blockquote', 'br', 'dd', 'div', 'dl', 'dt', 'fieldset', 'figcaption', 'figure',
  'footer', 'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'li', 'main', 'nav', 'ol', 'p', 'pre',
  'section', 'table', 'tbody', 'td', 'tfoot', 'th', 'thead', 'tr', 'ul', 'button', 'label', 'option', 'select', 'textarea', 'legend',
]);

/**
 * Splits HTML into start tags, end tags and text, the way a browser's
 * tokenizer does for well-formed pages and forgivingly for the rest: a `<`
 * that starts no tag is text; comments, doctypes and processing
 * instructions are dropped; attribute values are entity-decoded; names are
 * lower-cased; the first of duplicate attributes wins.
 */
function tokenize(html: string): Token[] {
  const out: Token[] = [];
  const n = html.length;
  let i = 0;
  let text = '';
  const flushText = (): void => {
    if (text !== '') out.push({ kind: 'text', text: decodeEntities(text) });
    text = '';
  };
  while (i < n) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      text += html.slice(i);
      break;
    }
    text += html.slice(i, lt);
    i = lt;
    const next = html[i + 1] ?? '';
    if (html.startsWith('<!--', i)) {
      const end = html.indexOf('-->', i + 4);
      flushText();
      i = end < 0 ? n : end + 3;
      continue;
    }
    if (next === '!' || next === '?') {
      const end = html.indexOf('>', i + 2);
      flushText();
      i = end < 0 ? n : end + 1;
      continue;
    }
    if (next === '/' && /[A-Za-z]/.test(html[i + 2] ?? '')) {
      const m = /^<\/([^\s/>]+)/.exec(html.slice(i, i + 256));
      flushText();
      out.push({ kind: 'end', name: m![1]!.toLowerCase() });
      const end = html.indexOf('>', i);
      i = end < 0 ? n : end + 1;
      continue;
    }
    if (!/[A-Za-z]/.test(next)) {
      // "a < b": not a tag.
      text += '<';
      i += 1;
      continue;
    }
    flushText();
    const start = parseStartTag(html, i);
    out.push(start.token);
    i = start.end;
    const name = start.token.name;
    if ((RAW_TEXT.has(name) || RCDATA.has(name)) && !start.token.selfClosing) {
      const close = new RegExp(`</${name}[\\s/>]`, 'i');
      const rest = html.slice(i);
      const m = close.exec(rest);
      const content = m ? rest.slice(0, m.index) : rest;
      if (RCDATA.has(name) && content !== '') out.push({ kind: 'text', text: decodeEntities(content) });
      out.push({ kind: 'end', name });
      if (!m) {
        i = n;
      } else {
        const gt = html.indexOf('>', i + m.index);
        i = gt < 0 ? n : gt + 1;
      }
    }
  }
  flushText();
  return out;
}

/** One start tag from `<` at `at`: its token and where the text after it begins. */
function parseStartTag(html: string, at: number): { token: Extract<Token, { kind: 'start' }>; end: number } {
  const n = html.length;
  let i = at + 1;
  let name = '';
  while (i < n && !/[\s/>]/.test(html[i]!)) name += html[i++];
  const attrs = new Map<string, string>();
  let selfClosing = false;
  for (;;) {
    while (i < n && /\s/.test(html[i]!)) i++;
    if (i >= n) break;
    if (html[i] === '>') {
      i++;
      break;
    }
    if (html[i] === '/') {
      i++;
      if (html[i] === '>') {
        selfClosing = true;
        i++;
        break;
      }
      continue;
    }
    let attr = '';
    // A leading "=" belongs to the name (HTML tokenizer rule), then up to whitespace, "/", ">" or "=".
    if (html[i] === '=') attr += html[i++];
    while (i < n && !/[\s/>=]/.test(html[i]!)) attr += html[i++];
    while (i < n && /\s/.test(html[i]!)) i++;
    let value = '';
    if (html[i] === '=') {
      i++;
      while (i < n && /\s/.test(html[i]!)) i++;
      const q = html[i];
      if (q === '"' || q === "'") {
        const end = html.indexOf(q, i + 1);
        value = html.slice(i + 1, end < 0 ? n : end);
        i = end < 0 ? n : end + 1;
      } else {
        while (i < n && !/[\s>]/.test(html[i]!)) value += html[i++];
      }
    }
    const key = attr.toLowerCase();
    if (key !== '' && !attrs.has(key)) attrs.set(key, decodeEntities(value));
  }
  return { token: { kind: 'start', name: name.toLowerCase(), attrs, selfClosing }, end: i };
}

/** One control of a form, as the person sees it and as the form submits it. */
export interface HtmlControl {
  /** The element: an input, a button, a select or a textarea. */
  tag: 'input' | 'button' | 'select' | 'textarea';
  /** Input type (lower case, default "text"); for a button "submit", "reset" or "button"; "select" or "textarea" otherwise. */
  type: string;
  name?: string;
  id?: string;
  /** The value it submits: the value attribute, a textarea's text, a select's chosen option. */
  value: string;
  /** Checkboxes and radios: whether checked; true for everything else. */
  checked: boolean;
  disabled: boolean;
  /**
   * What a person reads for it: a button's text (an input button's value),
   * else the text of its `<label for>` or the label around it, else aria-label.
   */
  label: string;
  /** A select's options. */
  options?: Array<{ value: string; label: string; selected: boolean }>;
  /** A submit button's formaction / formmethod, which override the form's when it is the one clicked. */
  formAction?: string;
  formMethod?: string;
}

/** One form of a page, with its controls (those inside it and those pointing at it with form="id"). */
export interface HtmlForm {
  id?: string;
  /** Absolute URL the form submits to (the page's own URL when the action is empty). */
  action: string;
  method: 'get' | 'post';
  controls: HtmlControl[];
}

/** What the person reads of a page. */
export interface HtmlPage {
  /** The URL the page was loaded from (relative URLs resolve against it or its `<base href>`). */
  url: string;
  title: string;
  /** Visible text: one line per block, whitespace collapsed; no script, style or attribute values. */
  text: string;
  forms: HtmlForm[];
}

const SUBMIT_INPUT_TYPES = new Set(['submit', 'image']);
/** Elements that may stand in <head>; any other start tag means the body has begun. */
const HEAD_CONTENT = new Set(['head', 'title', 'meta', 'link', 'style', 'script', 'base', 'noscript', 'template']);

/** Whether a control submits its form when clicked. */
export function isSubmitButton(c: HtmlControl): boolean {
  return (c.tag === 'button' && c.type === 'submit') || (c.tag === 'input' && SUBMIT_INPUT_TYPES.has(c.type));
}

/** Whether a control is a field a person types in or picks from (not a button, not hidden). */
export function isVisibleField(c: HtmlControl): boolean {
  if (c.tag === 'button') return false;
  if (c.tag === 'input') return !['hidden', 'submit', 'image', 'reset', 'button'].includes(c.type);
  return true;
}

/** Collapses whitespace as rendering does; `\n` marks kept block breaks. */
function normalizeText(raw: string): string {
  return raw
    .split('\n')
    .map((line) => line.replace(/[\s\u00a0]+/g, ' ').trim())
    .filter((line) => line !== '')
    .join('\n');
}

/** A URL resolved against a base, or undefined when it cannot be (a person's browser would not go there either). */
function resolveUrl(ref: string, base: string): string | undefined {
  try {
    return new URL(ref.trim(), base).href;
  } catch {
    return undefined;
  }
}

/**
 * Reads a page: its title, visible text and forms. Controls outside a form
 * that name it with `form="id"` belong to it (HTML5); labels are joined by
 * `for` or by wrapping; relative actions resolve against `<base href>` or
 * the page URL.
 */
export function parseHtml(html: string, url: string): HtmlPage {
  const tokens = tokenize(html);
  let base = url;
  let title = '';
  let text = '';
  let inTitle = false;
  let inHead = 0;

  interface FormBuild { id?: string; actionAttr?: string; method: 'get' | 'post'; controls: HtmlControl[] }
  const forms: FormBuild[] = [];
  // Per control: the form it belongs to (index), or the id named by its form= attribute.
  const owners: Array<{ control: HtmlControl; formIndex?: number; formAttr?: string }> = [];
  let currentForm: number | undefined;

  interface LabelBuild { forId?: string; text: string; control?: HtmlControl }
  const openLabels: LabelBuild[] = [];
  const labelsFor = new Map<string, string[]>();
  const wrapped = new Map<HtmlControl, string>();
  const ariaLabels = new Map<HtmlControl, string>();

  let openButton: { control: HtmlControl; text: string } | undefined;
  let openSelect: HtmlControl | undefined;
  let openOption: { value?: string; label: string; selected: boolean } | undefined;
  let openTextarea: HtmlControl | undefined;

  const closeOption = (): void => {
    if (openSelect && openOption) {
      const label = normalizeText(openOption.label).replace(/\n/g, ' ');
      openSelect.options!.push({ value: openOption.value ?? label, label, selected: openOption.selected });
    }
    openOption = undefined;
  };
  const closeSelect = (): void => {
    closeOption();
    if (openSelect) {
      const opts = openSelect.options!;
      const chosen = opts.find((o) => o.selected) ?? opts[0];
      openSelect.value = chosen?.value ?? '';
    }
    openSelect = undefined;
  };
  const addControl = (control: HtmlControl, attrs: Map<string, string>): void => {
    const formAttr = attrs.get('form');
    owners.push({ control, ...(formAttr !== undefined ? { formAttr } : currentForm !== undefined ? { formIndex: currentForm } : {}) });
    const aria = attrs.get('aria-label');
    if (aria !== undefined) ariaLabels.set(control, aria);
    // The first labelable control inside a label without for= is what it labels.
    const innermost = openLabels[openLabels.length - 1];
    if (innermost && innermost.control === undefined && !(control.tag === 'input' && control.type === 'hidden')) innermost.control = control;
  };

  for (const t of tokens) {
    if (t.kind === 'text') {
      if (inTitle) {
        title += t.text;
        continue;
      }
      if (openTextarea) {
        // The first newline right after <textarea> is not part of its value (HTML parsing rule).
        openTextarea.value += openTextarea.value === '' ? t.text.replace(/^\r?\n/, '') : t.text;
      }
      if (openOption) openOption.label += t.text;
      if (openButton) openButton.text += t.text;
      for (const l of openLabels) l.text += t.text;
      if (inHead === 0) text += t.text;
      continue;
    }
    if (t.kind === 'end') {
      switch (t.name) {
        case 'title': inTitle = false; break;
        case 'head': inHead = 0; break;
        case 'form': currentForm = undefined; break;
        case 'button':
          if (openButton) openButton.control.label = normalizeText(openButton.text).replace(/\n/g, ' ');
          openButton = undefined;
          break;
        case 'option': closeOption(); break;
        case 'select': closeSelect(); break;
        case 'textarea': openTextarea = undefined; break;
        case 'label': {
          const l = openLabels.pop();
          if (l) {
            const labelText = normalizeText(l.text).replace(/\n/g, ' ');
            if (l.forId !== undefined) labelsFor.set(l.forId, [...(labelsFor.get(l.forId) ?? []), labelText]);
            else if (l.control) wrapped.set(l.control, labelText);
          }
          break;
        }
        default: break;
      }
      if (BLOCK.has(t.name)) text += '\n';
      continue;
    }
    // start tags
    const a = t.attrs;
    // Content other than head elements ends an unclosed <head>, as the HTML parser does.
    if (inHead !== 0 && !HEAD_CONTENT.has(t.name)) inHead = 0;
    if (BLOCK.has(t.name)) text += '\n';
    switch (t.name) {
      case 'head': inHead = 1; break;
      case 'body': inHead = 0; break;
      case 'title': inTitle = !t.selfClosing; break;
      case 'base': {
        const href = a.get('href');
        const resolved = href !== undefined ? resolveUrl(href, url) : undefined;
        if (resolved) base = resolved;
        break;
      }
      case 'form': {
        // Forms do not nest: an inner <form> start tag is ignored by browsers, and so here.
        if (currentForm !== undefined) break;
        const method = (a.get('method') ?? 'get').toLowerCase() === 'post' ? 'post' : 'get';
        forms.push({ ...(a.has('id') ? { id: a.get('id')! } : {}), ...(a.has('action') ? { actionAttr: a.get('action')! } : {}), method, controls: [] });
        currentForm = forms.length - 1;
        break;
      }
      case 'label': {
        const forId = a.get('for');
        openLabels.push({ ...(forId !== undefined ? { forId } : {}), text: '' });
        if (t.selfClosing) openLabels.pop();
        break;
      }
      case 'input': {
        const type = (a.get('type') ?? 'text').toLowerCase();
        const checkable = type === 'checkbox' || type === 'radio';
        const control: HtmlControl = {
          tag: 'input',
          type,
          ...(a.has('name') ? { name: a.get('name')! } : {}),
          ...(a.has('id') ? { id: a.get('id')! } : {}),
          value: a.get('value') ?? (checkable ? 'on' : ''),
          checked: checkable ? a.has('checked') : true,
          disabled: a.has('disabled'),
          // An input button reads as its value; browsers show "Submit" when there is none.
          label: SUBMIT_INPUT_TYPES.has(type) ? a.get('value') ?? a.get('alt') ?? 'Submit' : '',
          ...(a.has('formaction') ? { formAction: a.get('formaction')! } : {}),
          ...(a.has('formmethod') ? { formMethod: a.get('formmethod')!.toLowerCase() } : {}),
        };
        addControl(control, a);
        break;
      }
      case 'button': {
        const type = (a.get('type') ?? 'submit').toLowerCase();
        const control: HtmlControl = {
          tag: 'button',
          type: type === 'reset' || type === 'button' ? type : 'submit',
          ...(a.has('name') ? { name: a.get('name')! } : {}),
          ...(a.has('id') ? { id: a.get('id')! } : {}),
          value: a.get('value') ?? '',
          checked: true,
          disabled: a.has('disabled'),
          label: '',
          ...(a.has('formaction') ? { formAction: a.get('formaction')! } : {}),
          ...(a.has('formmethod') ? { formMethod: a.get('formmethod')!.toLowerCase() } : {}),
        };
        addControl(control, a);
        openButton = { control, text: '' };
        break;
      }
      case 'select': {
        closeSelect();
        const control: HtmlControl = {
          tag: 'select',
          type: 'select',
          ...(a.has('name') ? { name: a.get('name')! } : {}),
          ...(a.has('id') ? { id: a.get('id')! } : {}),
          value: '',
          checked: true,
          disabled: a.has('disabled'),
          label: '',
          options: [],
        };
        addControl(control, a);
        openSelect = control;
        break;
      }
      case 'option':
        closeOption();
        if (openSelect) openOption = { ...(a.has('value') ? { value: a.get('value')! } : {}), label: '', selected: a.has('selected') };
        break;
      case 'textarea': {
        const control: HtmlControl = {
          tag: 'textarea',
          type: 'textarea',
          ...(a.has('name') ? { name: a.get('name')! } : {}),
          ...(a.has('id') ? { id: a.get('id')! } : {}),
          value: '',
          checked: true,
          disabled: a.has('disabled'),
          label: '',
        };
        addControl(control, a);
        openTextarea = control;
        break;
      }
      default: break;
    }
  }
  closeSelect();

  // Labels: <label for=id> first, then a wrapping label, then aria-label.
  for (const { control } of owners) {
    if (control.label !== '') continue;
    const byFor = control.id !== undefined ? labelsFor.get(control.id) : undefined;
    control.label = byFor?.join(' ') ?? wrapped.get(control) ?? ariaLabels.get(control) ?? '';
  }
  const built: HtmlForm[] = forms.map((f) => ({
    ...(f.id !== undefined ? { id: f.id } : {}),
    // An empty or missing action submits to the document's own URL (HTML spec), not to <base href>.
    action: f.actionAttr === undefined || f.actionAttr.trim() === '' ? url : resolveUrl(f.actionAttr, base) ?? url,
    method: f.method,
    controls: [],
  }));
  for (const o of owners) {
    if (o.formAttr !== undefined) {
      // form="id" wins over the enclosing form, even when no form has that id (the control then has no form).
      const target = forms.findIndex((f) => f.id === o.formAttr);
      if (target >= 0) built[target]!.controls.push(o.control);
    } else if (o.formIndex !== undefined) {
      built[o.formIndex]!.controls.push(o.control);
    }
  }
  // Resolve per-button formaction now, while the base is known.
  for (const f of built) {
    for (const c of f.controls) if (c.formAction !== undefined) c.formAction = c.formAction.trim() === '' ? f.action : resolveUrl(c.formAction, base) ?? f.action;
  }
  return { url, title: normalizeText(title).replace(/\n/g, ' '), text: normalizeText(text), forms: built };
}

/** Compares labels as a person reads them: case, spacing and a trailing colon or asterisk do not matter. */
function sameLabel(a: string, b: string): boolean {
  const norm = (s: string): string => s.replace(/[\s\u00a0]+/g, ' ').trim().replace(/\s*[:*]+$/, '').toLowerCase();
  return norm(a) === norm(b);
}

/** The enabled submit button of a form whose visible label is `label`. */
export function findButton(form: HtmlForm, label: string): HtmlControl | undefined {
  return form.controls.find((c) => isSubmitButton(c) && !c.disabled && sameLabel(c.label, label));
}

/** The controls of a form named `name`. */
export function findField(form: HtmlForm, name: string): HtmlControl | undefined {
  return form.controls.find((c) => c.name === name && c.tag !== 'button' && !SUBMIT_INPUT_TYPES.has(c.type));
}

/** A form submission, ready to send: where, how, and the urlencoded body (GET forms put it in the URL). */
export interface FormSubmission {
  url: string;
  method: 'GET' | 'POST';
  /** application/x-www-form-urlencoded, for POST. */
  body?: string;
}

/**
 * What submitting `form` by clicking `button` sends, with `fill` typed into
 * fields by name (HTML's form data set: enabled named controls, checked
 * boxes only, only the clicked button). A fill naming no field of the form
 * is an error, so a renamed field fails loudly rather than being skipped.
 */
export function buildSubmission(form: HtmlForm, opts: { button?: HtmlControl; fill?: Readonly<Record<string, string>> } = {}): FormSubmission {
  const fill = opts.fill ?? {};
  for (const name of Object.keys(fill)) {
    const field = findField(form, name);
    if (!field) throw new Error(`the form has no field named ${JSON.stringify(name)} (fields: ${describeFields(form)})`);
    if (field.disabled) throw new Error(`the field ${JSON.stringify(name)} is disabled`);
  }
  const params = new URLSearchParams();
  const filled = new Set<string>();
  for (const c of form.controls) {
    if (c.disabled || c.name === undefined || c.name === '') continue;
    if (c.tag === 'button' || (c.tag === 'input' && ['submit', 'image', 'reset', 'button'].includes(c.type))) {
      if (c !== opts.button) continue;
      if (c.type === 'image') {
        params.append(`${c.name}.x`, '0');
        params.append(`${c.name}.y`, '0');
      } else {
        params.append(c.name, c.value);
      }
      continue;
    }
    if (c.tag === 'input' && c.type === 'file') continue;
    const given = fill[c.name];
    if (c.tag === 'input' && (c.type === 'checkbox' || c.type === 'radio')) {
      const checked = given !== undefined ? given === c.value : c.checked;
      if (checked) params.append(c.name, c.value);
      continue;
    }
    if (given !== undefined && c.tag === 'select') {
      const opt = c.options?.find((o) => o.value === given) ?? c.options?.find((o) => sameLabel(o.label, given));
      if (!opt) throw new Error(`the select ${JSON.stringify(c.name)} has no option ${JSON.stringify(given)}`);
      params.append(c.name, opt.value);
      continue;
    }
    // A name filled once fills its first field only; a repeated name keeps its other values.
    if (given !== undefined && !filled.has(c.name)) {
      filled.add(c.name);
      params.append(c.name, given);
    } else {
      params.append(c.name, c.value);
    }
  }
  const action = opts.button?.formAction ?? form.action;
  const method = (opts.button?.formMethod ?? form.method) === 'post' ? 'POST' : 'GET';
  if (method === 'GET') {
    const u = new URL(action);
    u.search = params.toString();
    u.hash = '';
    return { url: u.href, method };
  }
  return { url: action, method, body: params.toString() };
}

/** The fields of a form for an error message: names and types, never values. */
function describeFields(form: HtmlForm): string {
  const fields = form.controls.filter((c) => c.tag !== 'button' && !['submit', 'image', 'reset', 'button'].includes(c.type));
  return fields.length === 0 ? 'none' : fields.map((c) => `${c.name ?? '(no name)'}${c.type === 'hidden' ? ' (hidden)' : ''}`).join(', ');
}

/** The buttons of a form for an error message, by label. */
function describeButtons(form: HtmlForm): string {
  const buttons = form.controls.filter(isSubmitButton);
  return buttons.length === 0 ? 'none' : buttons.map((c) => JSON.stringify(c.label)).join(', ');
}

// ---- cookies --------------------------------------------------------------------

/** A cookie as the jar keeps it. */
export interface StoredCookie {
  name: string;
  value: string;
  /** The origin that set it: cookies go back to exactly that origin (scheme, host and port). */
  origin: string;
  path: string;
  /** Milliseconds since the epoch; undefined for a session cookie. */
  expires?: number;
  secure: boolean;
}

/** Hosts a browser treats as a secure context over plain http, so Secure cookies still flow in tests. */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/**
 * A cookie jar after RFC 6265, kept stricter than a browser on purpose:
 * a cookie goes back only to the origin that set it (scheme, host AND port),
 * because every test service runs on 127.0.0.1 with its own port and a
 * browser's port-blind host match would mix their sessions. Path matching,
 * Max-Age/Expires (and deletion by an expiry in the past) and Secure follow
 * the RFC; HttpOnly and SameSite do not apply to a client without scripts
 * that only makes same-origin requests. A Domain attribute that does not
 * cover the host makes the cookie be ignored; one that does is treated as
 * host-only.
 */
export class CookieJar {
  private cookies: StoredCookie[] = [];

  /** `now` is a clock, so a test can move time forward to expire cookies. */
  constructor(private readonly now: () => number = Date.now) {}

  /** Stores the cookies of the Set-Cookie header values of a response to `requestUrl`. */
  storeAll(setCookies: readonly string[], requestUrl: string): void {
    for (const h of setCookies) this.store(h, requestUrl);
  }

  /** Stores one Set-Cookie header value of a response to `requestUrl` (ignores malformed ones). */
  store(setCookie: string, requestUrl: string): void {
    const url = new URL(requestUrl);
    const [pair, ...attrs] = setCookie.split(';');
    const eq = pair!.indexOf('=');
    // A cookie without "=" has an empty name in RFC 6265bis; nothing here sets one, so it is dropped.
    if (eq <= 0) return;
    const name = pair!.slice(0, eq).trim();
    // A quoted value keeps its quotes: browsers send it back exactly as it was set.
    const value = pair!.slice(eq + 1).trim();
    if (name === '') return;
    let path: string | undefined;
    let expires: number | undefined;
    let maxAge: number | undefined;
    let secure = false;
    for (const raw of attrs) {
      const i = raw.indexOf('=');
      const key = (i < 0 ? raw : raw.slice(0, i)).trim().toLowerCase();
      const val = i < 0 ? '' : raw.slice(i + 1).trim();
      if (key === 'path') path = val.startsWith('/') ? val : undefined;
      else if (key === 'expires') {
        const t = Date.parse(val);
        if (!Number.isNaN(t)) expires = t;
      } else if (key === 'max-age') {
        if (/^-?\d+$/.test(val)) maxAge = Number(val);
      } else if (key === 'secure') secure = true;
      else if (key === 'domain') {
        const d = val.replace(/^\./, '').toLowerCase();
        const host = url.hostname.toLowerCase();
        if (d !== '' && host !== d && !host.endsWith(`.${d}`)) return;
      }
    }
    if (secure && url.protocol !== 'https:' && !isLoopback(url.hostname)) return;
    // Max-Age wins over Expires (RFC 6265 5.3 step 3).
    if (maxAge !== undefined) expires = maxAge <= 0 ? 0 : this.now() + maxAge * 1000;
    const cookie: StoredCookie = { name, value, origin: url.origin, path: path ?? defaultPath(url.pathname), secure, ...(expires !== undefined ? { expires } : {}) };
    this.cookies = this.cookies.filter((c) => !(c.name === cookie.name && c.origin === cookie.origin && c.path === cookie.path));
    if (cookie.expires === undefined || cookie.expires > this.now()) this.cookies.push(cookie);
  }

  /** The Cookie header for a request to `requestUrl`, or undefined when no cookie applies. */
  header(requestUrl: string): string | undefined {
    const matching = this.matching(requestUrl);
    return matching.length === 0 ? undefined : matching.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  /** The cookies that go with a request to `requestUrl`, longest path first (RFC 6265 5.4); all of them without a URL. */
  matching(requestUrl?: string): StoredCookie[] {
    const t = this.now();
    this.cookies = this.cookies.filter((c) => c.expires === undefined || c.expires > t);
    if (requestUrl === undefined) return [...this.cookies];
    const url = new URL(requestUrl);
    const secureOk = url.protocol === 'https:' || isLoopback(url.hostname);
    // Array.prototype.sort is stable, so equal paths keep their order of creation.
    return this.cookies
      .filter((c) => c.origin === url.origin && pathMatches(url.pathname, c.path) && (!c.secure || secureOk))
      .sort((a, b) => b.path.length - a.path.length);
  }

  /** Forgets every cookie (a new browser). */
  clear(): void {
    this.cookies = [];
  }
}

/** RFC 6265 5.1.4: the directory of the request path. */
function defaultPath(pathname: string): string {
  if (!pathname.startsWith('/')) return '/';
  const last = pathname.lastIndexOf('/');
  return last <= 0 ? '/' : pathname.slice(0, last);
}

/** RFC 6265 5.1.4 path-match: equal, or a prefix ending at a "/" boundary. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

// ---- the person ------------------------------------------------------------------

/** A page the person ended on, for the caller to look at. */
export interface AgentPage {
  status: number;
  url: string;
  title: string;
  /** Visible text (see {@link HtmlPage.text}). */
  text: string;
  /** The raw body. */
  html: string;
  forms: HtmlForm[];
  /** The page's Referrer-Policy header (the last policy listed applies), which decides what its form posts reveal. */
  referrerPolicy?: string;
}

/** How {@link PersonAgent.authorize} ended. */
export interface AuthorizeOutcome {
  /**
   * The URL the service redirected to that the person does not follow: the
   * redirect_uri with the authorization response (`?code=` or `?error=`),
   * or any URL outside the issuer's origin.
   */
  callbackUrl?: string;
  /** The page the person stopped on instead: an error page, or the sign-in form again after a wrong password. */
  page?: AgentPage;
  /** What the person did, one line each (paths without query strings, no secrets). */
  steps: string[];
  /** The screens the person answered, in order (e.g. no "consent" when consent was given before). */
  screens: ScreenKind[];
}

/** The value already in a code screen's visible user_code field ('' when empty). */
function prefilledCode(page: AgentPage): string {
  for (const f of page.forms) {
    const c = findField(f, 'user_code');
    if (c !== undefined && isVisibleField(c)) return (c.value ?? '').trim();
  }
  return '';
}

/** How {@link PersonAgent.completeDevice} ended. */
export interface DeviceOutcome {
  /** The last page: the "device is connected" page when it went well. */
  page: AgentPage;
  /** Whether that page says the device is connected. */
  connected: boolean;
  /** What the person did, one line each (paths without query strings, no secrets). */
  steps: string[];
  /** The screens the person answered, in order. */
  screens: ScreenKind[];
}

/** Who the person is and what they answer. */
export interface PersonAgentOptions {
  username: string;
  password: string;
  /** The answer on a consent screen; default "allow". */
  consent?: 'allow' | 'deny';
  /**
   * The issuer's origin (or any URL of it): redirects are followed only
   * within it. Default: the origin of the first URL the person opens.
   */
  issuer?: string;
  /** Pages (form submissions) before giving up on a flow that loops; default 20. */
  maxPages?: number;
  /** Milliseconds for each HTTP request; default 15000. */
  requestTimeoutMs?: number;
  /** Called with each step as it happens (progress output). */
  onStep?: (step: string) => void;
  /** The fetch to use; default the global one. */
  fetch?: typeof fetch;
}

/** A page that is not what the person expected, with what was expected and what the page said. */
export class UnexpectedPageError extends Error {
  constructor(
    message: string,
    readonly page: AgentPage,
  ) {
    super(message);
    this.name = 'UnexpectedPageError';
  }
}

/** The screens a person answers: the sign-in form, consent, and the device flow's code and confirmation pages. */
export type ScreenKind = 'sign-in' | 'consent' | 'device-code' | 'device-confirm';

/** Where a request (and its redirects) led: a page, or a redirect the person did not follow. */
export type Navigation = { kind: 'page'; page: AgentPage } | { kind: 'left'; url: string };

/** What makes two pages the same screen: title, text and the names of the form controls (not their values, such as fresh CSRF tokens). */
function pageSignature(page: AgentPage): string {
  return JSON.stringify([page.title, page.text, page.forms.map((f) => [f.action, f.controls.map((c) => c.name ?? '')])]);
}

const MAX_REDIRECTS = 20;

/**
 * A headless person signing in through the service's screens.
 *
 * ```ts
 * const alice = new PersonAgent({ username: 'alice', password: pw, consent: 'allow' });
 * const { callbackUrl, page } = await alice.authorize(authorizationUrl, 'http://127.0.0.1:9/cb');
 * ```
 *
 * One agent is one browser: its cookies (the service's session) carry over
 * from one flow to the next, so a second authorize may skip sign-in and consent.
 */
export class PersonAgent {
  /** The person's cookies. */
  readonly jar = new CookieJar();
  private issuerOrigin: string | undefined;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly opts: PersonAgentOptions) {
    this.issuerOrigin = opts.issuer !== undefined ? new URL(opts.issuer).origin : undefined;
    this.fetchImpl = opts.fetch ?? fetch;
  }

  /**
   * Opens an authorization URL and goes through the screens: fills the
   * sign-in form and clicks "Sign in", answers a consent screen with
   * "Allow" or "Deny", and stops at the redirect to `redirectUriPrefix` (or
   * any redirect leaving the issuer's origin), returned unfetched as
   * `callbackUrl`. Any other page (an error page, the sign-in form again
   * after a wrong password, a consent screen shown again) is returned as `page`.
   */
  async authorize(authorizationUrl: string, redirectUriPrefix: string): Promise<AuthorizeOutcome> {
    const steps: string[] = [];
    const screens: ScreenKind[] = [];
    this.issuerOrigin ??= new URL(authorizationUrl).origin;
    const first = await this.navigate('GET', authorizationUrl, undefined, redirectUriPrefix, steps);
    const end = await this.drive(first, { device: false, stopPrefix: redirectUriPrefix }, steps, screens);
    return end.kind === 'left' ? { callbackUrl: end.url, steps, screens } : { page: end.page, steps, screens };
  }

  /**
   * Completes the device flow on the `verification_uri`: types `userCode`
   * into "Code" and clicks "Continue", clicks "Continue" on the
   * confirmation, signs in and answers consent (in whatever order the
   * service shows them), and returns the page it ends on. Without
   * `userCode` (a `verification_uri_complete` carries it) the code screen
   * is not expected. The end page should say the device is connected;
   * `connected` says whether it does.
   */
  async completeDevice(verificationUri: string, userCode?: string): Promise<DeviceOutcome> {
    const steps: string[] = [];
    const screens: ScreenKind[] = [];
    this.issuerOrigin ??= new URL(verificationUri).origin;
    const first = await this.navigate('GET', verificationUri, undefined, undefined, steps);
    const end = await this.drive(first, { device: true, ...(userCode !== undefined ? { userCode } : {}) }, steps, screens);
    if (end.kind === 'left') {
      throw new Error(`the device flow redirected outside the issuer's origin (${safeLocation(end.url)}) instead of showing a page`);
    }
    const connected = end.ended && /\bconnected\b/i.test(end.page.text) && !/\bnot\s+(been\s+)?connected\b/i.test(end.page.text);
    if (connected) this.step(steps, 'the device is connected');
    return { page: end.page, connected, steps, screens };
  }

  /**
   * Answers screens until the flow leaves the issuer (`left`) or shows a
   * page that is not a screen to answer (`ended`: an end or error page), or
   * shows again a screen already answered, which means the answer was
   * refused (a wrong password, a wrong code) or the flow went back (the
   * code screen after Deny): that page is handed back as it is. A
   * confirmation may come twice (oidc-provider's auto-submitting page for a
   * verification_uri_complete, then the real one), but not the same page twice.
   */
  private async drive(
    first: Navigation,
    o: { device: boolean; userCode?: string; stopPrefix?: string },
    steps: string[],
    screens: ScreenKind[],
  ): Promise<{ kind: 'left'; url: string } | { kind: 'page'; page: AgentPage; ended: boolean }> {
    let nav = first;
    let previous: string | undefined;
    for (let n = 0; ; n++) {
      if (nav.kind === 'left') return nav;
      const page = nav.page;
      const kind = this.classify(page, o.device);
      if (kind === 'other') {
        this.step(steps, `ended on "${page.title}" (${page.status})`);
        return { kind: 'page', page, ended: true };
      }
      const signature = pageSignature(page);
      let stop: string | undefined;
      if (n >= (this.opts.maxPages ?? 20)) stop = `gave up after ${n} screens`;
      else if (kind === 'device-confirm' ? signature === previous : screens.includes(kind)) stop = `stopped: the ${kind} screen again`;
      // Through verification_uri_complete the code screen comes with the code filled in: the person checks it and goes on.
      else if (kind === 'device-code' && o.userCode === undefined && prefilledCode(page) === '') stop = 'stopped: the code screen, and no code to type';
      if (stop !== undefined) {
        this.step(steps, stop);
        return { kind: 'page', page, ended: false };
      }
      screens.push(kind);
      previous = signature;
      nav = await this.answer(page, kind, o.userCode, o.stopPrefix, steps);
    }
  }

  /**
   * Loads a URL with the person's cookies and follows redirects within the
   * issuer's origin. Returns the page, or `left` with a redirect target it
   * did not follow (outside the origin, or under `stopPrefix`).
   */
  async open(url: string, stopPrefix?: string): Promise<Navigation> {
    this.issuerOrigin ??= new URL(url).origin;
    return this.navigate('GET', url, undefined, stopPrefix, []);
  }

  /** Which screen a page is. Device screens only count in the device flow. */
  private classify(page: AgentPage, device: boolean): ScreenKind | 'other' {
    if (page.forms.some((f) => findField(f, 'username') && findField(f, 'password'))) return 'sign-in';
    if (page.forms.some((f) => this.consentButton(f, 'allow') && this.consentButton(f, 'deny'))) return 'consent';
    if (device) {
      // On the code screen user_code is a field the person types in; a confirmation page may carry it hidden.
      if (page.forms.some((f) => { const c = findField(f, 'user_code'); return c !== undefined && isVisibleField(c); })) return 'device-code';
      if (page.forms.some((f) => findButton(f, 'Continue'))) return 'device-confirm';
    }
    return 'other';
  }

  /** The consent button for a decision: by its label ("Allow"/"Deny"), else by decision=allow|deny. */
  private consentButton(form: HtmlForm, decision: 'allow' | 'deny'): HtmlControl | undefined {
    return (
      findButton(form, decision === 'allow' ? 'Allow' : 'Deny') ??
      form.controls.find((c) => isSubmitButton(c) && !c.disabled && c.name === 'decision' && c.value === decision)
    );
  }

  /** Answers one screen and goes where its form leads. */
  private async answer(
    page: AgentPage,
    kind: ScreenKind,
    userCode: string | undefined,
    stopPrefix: string | undefined,
    steps: string[],
  ): Promise<Navigation> {
    let form: HtmlForm | undefined;
    let button: HtmlControl | undefined;
    let fill: Record<string, string> = {};
    switch (kind) {
      case 'sign-in': {
        form = page.forms.find((f) => findField(f, 'username') && findField(f, 'password'))!;
        button = this.requireButton(page, form, 'Sign in');
        fill = { username: this.opts.username, password: this.opts.password };
        this.step(steps, `sign-in: "Sign in" as ${this.opts.username}`);
        break;
      }
      case 'consent': {
        const decision = this.opts.consent ?? 'allow';
        form = page.forms.find((f) => this.consentButton(f, 'allow') && this.consentButton(f, 'deny'))!;
        button = this.consentButton(form, decision)!;
        this.step(steps, `consent: "${button.label || decision}"`);
        break;
      }
      case 'device-code': {
        form = page.forms.find((f) => { const c = findField(f, 'user_code'); return c !== undefined && isVisibleField(c); })!;
        button = this.requireButton(page, form, 'Continue');
        fill = userCode !== undefined ? { user_code: userCode } : {};
        this.step(steps, userCode !== undefined ? 'device: typed the code, "Continue"' : 'device: the code is filled in, "Continue"');
        break;
      }
      case 'device-confirm': {
        form = page.forms.find((f) => findButton(f, 'Continue'))!;
        button = findButton(form, 'Continue')!;
        this.step(steps, 'device: confirmation, "Continue"');
        break;
      }
    }
    let sub: FormSubmission;
    try {
      sub = buildSubmission(form, { button, fill });
    } catch (e) {
      throw this.pageError(page, `could not fill the ${kind} form: ${(e as Error).message}`);
    }
    return this.navigate(sub.method, sub.url, sub.body, stopPrefix, steps, page);
  }

  /** The button labelled `label`, or an error naming what the page has instead. */
  private requireButton(page: AgentPage, form: HtmlForm, label: string): HtmlControl {
    const b = findButton(form, label);
    if (!b) throw this.pageError(page, `expected a button labelled "${label}" in the form; its buttons: ${describeButtons(form)}`);
    return b;
  }

  /**
   * One request and its redirects (manual, so the person decides which to
   * follow): 303, and 301/302 after a POST, become GETs as in browsers; 307
   * and 308 repeat the method and body.
   */
  private async navigate(
    method: 'GET' | 'POST',
    url: string,
    body: string | undefined,
    stopPrefix: string | undefined,
    steps: string[],
    from?: AgentPage,
  ): Promise<Navigation> {
    let current = url;
    let m = method;
    let b = body;
    // A browser sends a form's Origin and Referer from the page the form is on, for every hop of its
    // redirects; under "Referrer-Policy: no-referrer" (which the sign-in screens send) it sends no
    // Referer and "Origin: null" on a POST (Fetch spec), so a service that checked them would see that.
    const noReferrer = from !== undefined && /(^|,)\s*no-referrer\s*$/i.test(from.referrerPolicy ?? '');
    for (let hops = 0; ; hops++) {
      if (hops > MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects, the last to ${safeLocation(current)}`);
      const headers: Record<string, string> = { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8', 'user-agent': 'appreg-person-agent' };
      const cookie = this.jar.header(current);
      if (cookie !== undefined) headers.cookie = cookie;
      if (m === 'POST') {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        headers.origin = from === undefined || noReferrer ? 'null' : new URL(from.url).origin;
      }
      if (from !== undefined && !noReferrer) headers.referer = from.url.split('#')[0]!;
      let res: Response;
      try {
        res = await this.fetchImpl(current, {
          method: m,
          headers,
          redirect: 'manual',
          ...(m === 'POST' ? { body: b ?? '' } : {}),
          signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 15_000),
        });
      } catch (e) {
        throw new Error(`${m} ${safeLocation(current)} failed: ${(e as Error).message}`);
      }
      this.jar.storeAll(res.headers.getSetCookie(), current);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location !== null) {
        await res.body?.cancel();
        const next = resolveUrl(location, current);
        if (next === undefined) throw new Error(`${m} ${safeLocation(current)} redirected to an invalid URL`);
        this.step(steps, `${m} ${safeLocation(current)} -> ${res.status}`);
        if (stopPrefix !== undefined && next.startsWith(stopPrefix)) {
          this.step(steps, 'redirected to the redirect_uri (not followed)');
          return { kind: 'left', url: next };
        }
        if (new URL(next).origin !== this.issuerOrigin) {
          this.step(steps, `redirected outside the issuer to ${new URL(next).origin} (not followed)`);
          return { kind: 'left', url: next };
        }
        if (res.status === 303 || ((res.status === 301 || res.status === 302) && m === 'POST')) {
          m = 'GET';
          b = undefined;
        }
        current = next;
        continue;
      }
      const html = await res.text();
      const parsed = parseHtml(html, current);
      this.step(steps, `${m} ${safeLocation(current)} -> ${res.status} "${parsed.title}"`);
      const referrerPolicy = res.headers.get('referrer-policy');
      return {
        kind: 'page',
        page: { status: res.status, url: current, title: parsed.title, text: parsed.text, html, forms: parsed.forms, ...(referrerPolicy !== null ? { referrerPolicy } : {}) },
      };
    }
  }

  /** Records a step, with the password taken out should a page ever echo it. */
  private step(steps: string[], s: string): void {
    const line = this.scrub(s);
    steps.push(line);
    this.opts.onStep?.(line);
  }

  /** An error about a page: what was expected, its URL, status, title and the start of its text; never the password. */
  private pageError(page: AgentPage, expected: string): UnexpectedPageError {
    const excerpt = page.text.replace(/\n/g, ' ').slice(0, 300);
    return new UnexpectedPageError(this.scrub(`${expected}; got ${page.status} ${safeLocation(page.url)} titled "${page.title}": ${excerpt}`), page);
  }

  private scrub(s: string): string {
    const pw = this.opts.password;
    // Short strings would blank ordinary words; passwords here have at least 8 characters.
    return pw.length >= 4 ? s.split(pw).join('[password]') : s;
  }
}

/** A URL for logs: origin and path only, since the query may hold a code, a state or a user code. */
export function safeLocation(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}${u.search !== '' ? '?…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}
