// schemaform.js - a form generated from a tool's input JSON Schema: controls by type, client-side checks, errors by path.
import { h, button, field, setFieldError } from '../lib/dom.js';

// Checked here before a submit: types, required, enum, lengths, ranges, item counts. Left to the
// server (its 400 INVALID_ARGUMENTS names the argument, shown at that field): pattern, multipleOf,
// uniqueItems, anyOf/oneOf/not, additionalProperties and the rest of the keywords vex checks.

const MISSING = 'Required.';
const UNCHOSEN = 'Choose a value.';
const MAX_HOPS = 16; // $ref hops followed for one schema
const MAX_NEST = 6; // fieldsets inside fieldsets; an object or array deeper down is a JSON text area
const MAX_CONTROLS = 300; // past this many controls (a schema that recurses through $ref) objects become JSON text areas

// schemaForm("schema", "prefix") -> {el, read(), setError(path, text), clear()}.
// read() -> {value, errors: [[path, text]]} (value: the arguments object); paths are the server's
// ("opts.depth", "tags[1]"); setError(path, text) puts the text at the nearest field of that path
// (an argument inside an array's JSON text at the array) and answers false when there is none.
export function schemaForm(schema, prefix) {
  const ctx = { root: schema, prefix, n: 0, spots: new Map() };
  const top = resolve(ctx, schema, 0);
  let ctl;
  if (top && kindOf(top) === 'object' && hasProps(top)) {
    ctl = objectControl(ctx, top, '', true, null, 0);
  } else {
    ctl = jsonControl(ctx, top && typeof top === 'object' ? top : {}, '', true, 'Arguments (a JSON object)', 'object');
  }
  return {
    el: ctl.el,
    read() {
      const errors = [];
      const r = ctl.read(errors);
      return { value: r.set ? r.value : {}, errors };
    },
    setError(path, text) {
      let p = path;
      for (;;) {
        const spot = ctx.spots.get(p);
        if (spot) {
          spot(text);
          return true;
        }
        if (p === '') return false;
        const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
        p = cut > 0 ? p.slice(0, cut) : '';
      }
    },
    clear() {
      for (const spot of ctx.spots.values()) spot('');
    },
  };
}

function resolve(ctx, s, depth) {
  let hops = 0;
  while (s && typeof s === 'object' && typeof s.$ref === 'string' && hops++ < MAX_HOPS) {
    s = pointer(ctx.root, s.$ref);
  }
  if (s === true || (s && typeof s === 'object' && typeof s.$ref !== 'string')) return s === true ? {} : s;
  return depth === 0 && s === undefined ? {} : null;
}

function pointer(root, ref) {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return undefined;
  let v = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!v || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, key)) return undefined;
    v = v[key];
  }
  return v;
}

function hasProps(s) {
  return s.properties && typeof s.properties === 'object' && Object.keys(s.properties).length > 0;
}

function kindOf(s) {
  if (Array.isArray(s.enum)) return 'enum';
  if (Object.prototype.hasOwnProperty.call(s, 'const')) return 'const';
  let t = s.type;
  if (Array.isArray(t)) {
    const real = t.filter((x) => x !== 'null');
    t = real.length === 1 ? real[0] : null;
  }
  if (!t && s.properties) t = 'object';
  if (!t && s.items) t = 'array';
  return ['string', 'integer', 'number', 'boolean', 'object', 'array'].includes(t) ? t : 'json';
}

function nextId(ctx, path) {
  ctx.n += 1;
  return ctx.prefix + '-' + ctx.n + '-' + path.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40);
}

function labelOf(key, s, required) {
  const name = typeof s.title === 'string' && s.title ? s.title + ' (' + key + ')' : key;
  return required ? name + ' (required)' : name;
}

// A hint: the description, then the constraints a person needs to know before typing.
function hintOf(s, kind) {
  const parts = [];
  if (typeof s.description === 'string' && s.description) parts.push(s.description);
  const rules = [];
  if (kind === 'integer') rules.push('a whole number');
  if (kind === 'number') rules.push('a number');
  if (typeof s.minimum === 'number') rules.push('at least ' + s.minimum);
  if (typeof s.exclusiveMinimum === 'number') rules.push('more than ' + s.exclusiveMinimum);
  if (typeof s.maximum === 'number') rules.push('at most ' + s.maximum);
  if (typeof s.exclusiveMaximum === 'number') rules.push('less than ' + s.exclusiveMaximum);
  if (typeof s.minLength === 'number') rules.push('at least ' + s.minLength + ' characters');
  if (typeof s.maxLength === 'number') rules.push('at most ' + s.maxLength + ' characters');
  if (typeof s.pattern === 'string') rules.push('matching ' + s.pattern);
  if (kind === 'json-object') rules.push('a JSON object');
  if (kind === 'json-array') rules.push('a JSON array');
  if (kind === 'json') rules.push('any JSON value');
  if (rules.length) {
    const text = rules.join(', ');
    parts.push(text.charAt(0).toUpperCase() + text.slice(1) + '.');
  }
  if (s.default !== undefined) parts.push('Default: ' + JSON.stringify(s.default) + '.');
  return parts.join(' ');
}

// One property's control, by its schema's kind.
function control(ctx, s, path, required, key, depth) {
  const kind = kindOf(s);
  const label = labelOf(key, s, required);
  const room = depth < MAX_NEST && ctx.n < MAX_CONTROLS;
  if (kind === 'object' && hasProps(s) && room) return objectControl(ctx, s, path, required, label, depth);
  if (kind === 'array' && room) {
    const items = resolve(ctx, s.items, 1);
    if (items && !Array.isArray(s.items) && ['string', 'integer', 'number', 'boolean', 'enum'].includes(kindOf(items))) {
      return rowsControl(ctx, s, items, path, required, label);
    }
  }
  if (kind === 'object' || kind === 'array' || kind === 'json') return jsonControl(ctx, s, path, required, label, kind);
  return scalarControl(ctx, s, path, required, label, kind);
}

function objectControl(ctx, s, path, required, label, depth) {
  const need = new Set(Array.isArray(s.required) ? s.required : []);
  const kids = [];
  const err = h('p', { class: 'field-error', id: nextId(ctx, path) + '-error', hidden: true });
  const box = label === null ? h('div', { class: 'schema-form' })
    : h('fieldset', { class: 'schema-object', 'aria-describedby': err.id }, h('legend', {}, label));
  if (label !== null && hintOf(s, 'object')) box.append(h('p', { class: 'hint' }, hintOf(s, 'object')));
  box.append(err);
  for (const [key, raw] of Object.entries(s.properties)) {
    const sub = resolve(ctx, raw, depth + 1);
    if (!sub) continue; // a false schema: nothing may be given
    const kpath = path ? path + '.' + key : key;
    const c = control(ctx, sub, kpath, need.has(key), key, depth + 1);
    kids.push([key, c]);
    box.append(c.el);
  }
  ctx.spots.set(path, (text) => { err.textContent = text; err.hidden = !text; });
  return {
    el: box,
    read(errors) {
      const value = {};
      let any = false;
      const mark = errors.length;
      for (const [key, c] of kids) {
        const r = c.read(errors);
        if (r.set) {
          // defineProperty: a property named "__proto__" stays an argument, not the object's prototype
          Object.defineProperty(value, key, { value: r.value, enumerable: true, writable: true, configurable: true });
          any = true;
        }
      }
      const typed = errors.slice(mark).some(([, t]) => t !== MISSING && t !== UNCHOSEN);
      if (!any && !typed && !required) {
        errors.length = mark; // an optional object left empty is not sent
        return { set: false };
      }
      for (const [key, c] of kids) {
        if (need.has(key) && !Object.prototype.hasOwnProperty.call(value, key) && !c.reported) errors.push([path ? path + '.' + key : key, MISSING]);
      }
      return { set: true, value };
    },
  };
}

function scalarControl(ctx, s, path, required, label, kind, row) {
  const id = nextId(ctx, path);
  let input;
  let choices = null;
  if (kind === 'enum' || kind === 'const') {
    choices = kind === 'enum' ? s.enum : [s.const];
    input = h('select', { id, name: path });
    if (!required || s.default === undefined) input.append(h('option', { value: '' }, required ? 'Choose...' : '(not set)'));
    choices.forEach((v, i) => input.append(h('option', { value: String(i) }, typeof v === 'string' ? v : JSON.stringify(v))));
    const d = choices.findIndex((v) => JSON.stringify(v) === JSON.stringify(s.default));
    if (d >= 0) input.value = String(d);
  } else if (kind === 'boolean' && required) {
    input = h('input', { id, name: path, type: 'checkbox' });
    input.checked = s.default === true;
  } else if (kind === 'boolean') {
    input = h('select', { id, name: path }, h('option', { value: '' }, '(not set)'),
      h('option', { value: 'true' }, 'true'), h('option', { value: 'false' }, 'false'));
    if (typeof s.default === 'boolean') input.value = String(s.default);
  } else {
    const short = (typeof s.maxLength === 'number' && s.maxLength <= 200) || s.pattern || s.format;
    const long = kind === 'string' && !short && !row;
    input = long ? h('textarea', { id, name: path, rows: 2 }) : h('input', { id, name: path, autocomplete: 'off' });
    if (kind === 'integer') input.setAttribute('inputmode', 'numeric');
    if (kind === 'number') input.setAttribute('inputmode', 'decimal');
    if (s.default !== undefined && typeof s.default !== 'object') input.value = String(s.default);
  }
  return leaf(ctx, path, required, label, input, hintOf(s, kind), (fail) => {
    if (choices) {
      if (input.value === '') return required ? fail(UNCHOSEN) : { set: false };
      return { set: true, value: choices[Number(input.value)] };
    }
    if (kind === 'boolean') {
      if (input.type === 'checkbox') return { set: true, value: input.checked };
      return input.value === '' ? { set: false } : { set: true, value: input.value === 'true' };
    }
    const text = input.value;
    if (kind === 'string') {
      if (text === '') return required ? fail(MISSING) : { set: false };
      const n = [...text].length;
      if (typeof s.minLength === 'number' && n < s.minLength) return fail('Must be at least ' + s.minLength + ' characters.');
      if (typeof s.maxLength === 'number' && n > s.maxLength) return fail('Must be at most ' + s.maxLength + ' characters.');
      return { set: true, value: text };
    }
    if (text.trim() === '') return required ? fail(MISSING) : { set: false };
    const r = number(text.trim(), kind, s);
    return r.error ? fail(r.error) : { set: true, value: r.value };
  });
}

// A field holding one value: "take(fail)" reads it as {set, value}, or answers fail(text) to refuse it.
function leaf(ctx, path, required, label, input, hint, take) {
  if (required) input.setAttribute('aria-required', 'true');
  const el = field(label, input, { hint });
  ctx.spots.set(path, (text) => setFieldError(el, text));
  const c = {
    el,
    reported: false,
    read(errors) {
      c.reported = false;
      return take((text) => {
        errors.push([path, text]);
        c.reported = true;
        return { set: false };
      });
    },
  };
  return c;
}

// A number typed as text: the value, or the reason it is refused.
function number(text, kind, s) {
  if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(text)) {
    return { error: kind === 'integer' ? 'Must be a whole number.' : 'Must be a number.' };
  }
  const v = Number(text);
  if (!Number.isFinite(v)) return { error: 'Must be a finite number.' };
  if (kind === 'integer' && !Number.isInteger(v)) return { error: 'Must be a whole number.' };
  if (typeof s.minimum === 'number' && v < s.minimum) return { error: 'Must be at least ' + s.minimum + '.' };
  if (typeof s.maximum === 'number' && v > s.maximum) return { error: 'Must be at most ' + s.maximum + '.' };
  if (typeof s.exclusiveMinimum === 'number' && v <= s.exclusiveMinimum) return { error: 'Must be more than ' + s.exclusiveMinimum + '.' };
  if (typeof s.exclusiveMaximum === 'number' && v >= s.exclusiveMaximum) return { error: 'Must be less than ' + s.exclusiveMaximum + '.' };
  return { value: v };
}

// Objects without properties, arrays of objects, and schemas without one type: JSON typed by hand.
function jsonControl(ctx, s, path, required, label, kind) {
  const want = kind === 'object' ? 'object' : kind === 'array' ? 'array' : null;
  const id = nextId(ctx, path);
  const input = h('textarea', { id, name: path, rows: 4, spellcheck: false, class: 'mono' });
  if (s.default !== undefined) input.value = JSON.stringify(s.default, null, 2);
  else if (path === '') input.value = '{}';
  return leaf(ctx, path, required, label, input, hintOf(s, want ? 'json-' + want : 'json'), (fail) => {
    if (input.value.trim() === '') return required ? fail(MISSING) : { set: false };
    let v;
    try {
      v = JSON.parse(input.value);
    } catch (e) {
      return fail('Not valid JSON: ' + e.message);
    }
    const got = Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
    if (want && got !== want) return fail('Must be a JSON ' + want + '.');
    return { set: true, value: v };
  });
}

// An array of scalars: one row per item, with add and remove buttons.
function rowsControl(ctx, s, items, path, required, label) {
  const err = h('p', { class: 'field-error', id: nextId(ctx, path) + '-error', hidden: true });
  const list = h('div', { class: 'rows' });
  const box = h('fieldset', { class: 'schema-array', 'aria-describedby': err.id }, h('legend', {}, label));
  const hint = hintOf(s, 'array');
  if (hint) box.append(h('p', { class: 'hint' }, hint));
  box.append(err, list);
  const rows = [];
  ctx.spots.set(path, (text) => { err.textContent = text; err.hidden = !text; });

  function renumber() {
    rows.forEach((r, i) => {
      const p = path + '[' + i + ']';
      r.path = p;
      r.setLabel(label.replace(/ \(required\)$/, '') + ' [' + i + ']');
      r.remove.setAttribute('aria-label', 'Remove ' + label.replace(/ \(required\)$/, '') + ' [' + i + ']');
      ctx.spots.set(p, r.setError);
    });
    for (const key of [...ctx.spots.keys()]) {
      const m = key.startsWith(path + '[') && /^\[(\d+)\]$/.exec(key.slice(path.length));
      if (m && Number(m[1]) >= rows.length) ctx.spots.delete(key);
    }
  }
  function add(value) {
    const itemSchema = value === undefined ? items : Object.assign({}, items, { default: value });
    const c = scalarControl(ctx, itemSchema, path + '[' + rows.length + ']', true, 'item', kindOf(items), true);
    const labelEl = c.el.querySelector('label');
    const row = {
      c,
      el: h('div', { class: 'row' }, c.el),
      setLabel: (t) => { if (labelEl) labelEl.textContent = t; },
      setError: (t) => setFieldError(c.el, t),
    };
    row.remove = button('Remove', () => {
      rows.splice(rows.indexOf(row), 1);
      row.el.remove();
      renumber();
      addBtn.focus();
    });
    row.el.append(row.remove);
    rows.push(row);
    list.append(row.el);
    renumber();
    return row;
  }
  const addBtn = button('Add item', () => {
    const r = add(undefined);
    const input = r.el.querySelector('input, select, textarea');
    if (input) input.focus();
  });
  box.append(addBtn);
  if (Array.isArray(s.default)) s.default.forEach((v) => add(v));
  return {
    el: box,
    reported: false,
    read(errors) {
      const value = [];
      for (const r of rows) {
        const got = r.c.read(errors);
        if (got.set) value.push(got.value);
      }
      if (!rows.length && !required) return { set: false };
      if (typeof s.minItems === 'number' && value.length < s.minItems) errors.push([path, 'Needs at least ' + s.minItems + ' items.']);
      if (typeof s.maxItems === 'number' && value.length > s.maxItems) errors.push([path, 'At most ' + s.maxItems + ' items.']);
      return { set: true, value };
    },
  };
}
