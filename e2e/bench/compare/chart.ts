import { writeFile } from 'node:fs/promises';
import { Resvg } from '@resvg/resvg-js';
import { formatFigure } from './stats';

/**
 * Small-multiple bar charts as SVG, rasterised to PNG by resvg (no browser, no native canvas):
 * one panel per figure, one bar per system, each panel on its own scale from zero.
 */
export interface BarPanel {
  title: string;
  /** Whether a higher or a lower bar is better, shown in the title. */
  better: 'higher' | 'lower';
  bars: { label: string; value: number }[];
}

const palette = ['#2b6cb0', '#dd6b20', '#c05621', '#718096', '#38a169'];

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function barPanelsSvg(title: string, panels: readonly BarPanel[], columns = 4): string {
  const panelWidth = 300;
  const panelHeight = 230;
  const rows = Math.ceil(panels.length / columns);
  const labels = [...new Set(panels.flatMap((panel) => panel.bars.map((bar) => bar.label)))];
  const legendHeight = 30;
  const width = columns * panelWidth;
  const height = 50 + legendHeight + rows * panelHeight;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="28" text-anchor="middle" font-size="17" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  labels.forEach((label, index) => {
    const x = 20 + index * 230;
    parts.push(`<rect x="${x}" y="44" width="14" height="14" fill="${palette[index % palette.length]}"/>`, `<text x="${x + 20}" y="56">${escapeXml(label)}</text>`);
  });
  panels.forEach((panel, index) => {
    const left = (index % columns) * panelWidth;
    const top = 50 + legendHeight + Math.floor(index / columns) * panelHeight;
    const plotTop = top + 40;
    const plotHeight = panelHeight - 80;
    const finite = panel.bars.filter((bar) => Number.isFinite(bar.value));
    const max = Math.max(1e-9, ...finite.map((bar) => bar.value));
    const barWidth = Math.min(60, (panelWidth - 60) / Math.max(1, panel.bars.length) - 12);
    parts.push(
      `<text x="${left + panelWidth / 2}" y="${top + 22}" text-anchor="middle" font-weight="bold">${escapeXml(panel.title)}</text>`,
      `<text x="${left + panelWidth / 2}" y="${top + 36}" text-anchor="middle" fill="#555" font-size="11">${panel.better} is better</text>`,
      `<line x1="${left + 25}" y1="${plotTop + plotHeight}" x2="${left + panelWidth - 25}" y2="${plotTop + plotHeight}" stroke="#999"/>`,
    );
    panel.bars.forEach((bar, barIndex) => {
      const colour = palette[labels.indexOf(bar.label) % palette.length];
      const x = left + 35 + barIndex * (barWidth + 12);
      const barHeight = Number.isFinite(bar.value) ? (bar.value / max) * (plotHeight - 16) : 0;
      const digits = bar.value < 10 ? 1 : 0;
      parts.push(
        `<rect x="${x}" y="${plotTop + plotHeight - barHeight}" width="${barWidth}" height="${barHeight}" fill="${colour}"/>`,
        `<text x="${x + barWidth / 2}" y="${plotTop + plotHeight - barHeight - 4}" text-anchor="middle" font-size="11">${formatFigure(bar.value, digits)}</text>`,
      );
    });
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Writes the panels as a PNG file. */
export async function writeBarPanelsPng(file: string, title: string, panels: readonly BarPanel[], columns = 4): Promise<void> {
  const svg = barPanelsSvg(title, panels, columns);
  const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
  await writeFile(file, png);
}
