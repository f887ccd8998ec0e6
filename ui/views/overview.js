// overview.js - the Overview view (being built; the shell commit carries this placeholder).
import { h } from '../lib/dom.js';

export async function render(root) {
  document.title = 'Overview - vex';
  root.append(h('h1', {}, 'Overview'));
}
