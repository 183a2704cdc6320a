/**
 * The vrelab icon: an interaction point, four curved tracks and their
 * energy deposits, inside a detector ring. `jp-icon3` lets the theme pick
 * the grey (light and dark themes); the orange reads on both.
 */
import { LabIcon } from '@jupyterlab/ui-components';

const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="none" stroke="#616161" stroke-linecap="round">
    <circle cx="12" cy="12" r="11" stroke-width="1"/>
    <path d="M12 12 Q12.4 7.9 15.6 5.3" stroke-width="1.7"/>
    <path d="M12 12 Q8.6 9.8 4.6 10.4" stroke-width="1.7"/>
    <path d="M12 12 Q12.0 16.2 8.8 18.9" stroke-width="1.7"/>
    <path d="M12 12 Q14.8 15.0 18.9 15.2" stroke-width="1.7"/>
  </g>
  <g fill="none" stroke="#F37726" stroke-width="2.4" stroke-linecap="round">
    <path d="M17.0 4.1 L18.4 3.0"/>
    <path d="M2.7 10.7 L1.0 10.9"/>
    <path d="M7.3 20.1 L6.0 21.2"/>
    <path d="M20.8 15.3 L22.5 15.4"/>
  </g>
  <circle cx="12" cy="12" r="2" fill="#F37726"/>
</svg>`;

export const vrelabIcon = new LabIcon({ name: 'vrelab:logo', svgstr });
