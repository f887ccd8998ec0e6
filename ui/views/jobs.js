// jobs.js - the Jobs view (being built; the shell commit carries this placeholder).
import { h } from '../lib/dom.js';

export async function render(root) {
  document.title = 'Jobs - vex';
  root.append(h('h1', {}, 'Jobs'));
}
