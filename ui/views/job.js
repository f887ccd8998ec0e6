// job.js - the Job view (being built; the shell commit carries this placeholder).
import { h } from '../lib/dom.js';

export async function render(root) {
  document.title = 'Job - vex';
  root.append(h('h1', {}, 'Job'));
}
