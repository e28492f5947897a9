// docs/runbook.md as a small HTML page, served by the sidecar at GET /runbook so that alert
// links (`<runbook>#<alertname in lower case>`) open wherever the stack runs, without a
// hosted copy of the repository. Only the Markdown the runbook uses: headings (with the
// GitHub anchors the rules link to), paragraphs, lists, tables, fenced code, `code`,
// **bold**, *italic* and links. Everything is HTML-escaped first; links keep only http(s)
// and in-page (#...) targets, others show as text.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** docs/runbook.md of this installation (the package ships docs/; compiled from dist/src/sidecar/). */
export const RUNBOOK_PATH = fileURLToPath(new URL('../../../docs/runbook.md', import.meta.url));

/** The runbook's Markdown, or undefined when the file is not installed (a trimmed image). */
export function loadRunbook(path = RUNBOOK_PATH): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .trim()
    .replace(/\s/g, '-');
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function inline(text: string): string {
  // Code spans first, kept aside so that their content is not read as emphasis or links.
  const codes: string[] = [];
  let s = escape(text).replace(/`([^`]+)`/g, (_m, c: string) => `\u0000${codes.push(`<code>${c}</code>`) - 1}\u0000`);
  s = s.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_m, label: string, href: string) =>
    /^(https?:\/\/|#)/.test(href) ? `<a href="${href}">${label}</a>` : label,
  );
  s = s.replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>').replace(/(^|[^*\w])\*([^*\s][^*]*)\*/g, '$1<em>$2</em>');
  return s.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => codes[Number(i)]);
}

export function renderRunbook(markdown: string): string {
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let para: string[] = [];
  let list: { tag: 'ul' | 'ol'; items: string[] } | undefined;
  let title = 'edgewatch runbook';
  const flush = () => {
    if (para.length) out.push(`<p>${inline(para.join(' '))}</p>`);
    para = [];
    if (list) out.push(`<${list.tag}>${list.items.map((i) => `<li>${inline(i)}</li>`).join('')}</${list.tag}>`);
    list = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^```/.test(line)) {
      flush();
      const code: string[] = [];
      while (++i < lines.length && !/^```/.test(lines[i])) code.push(lines[i]);
      out.push(`<pre><code>${escape(code.join('\n'))}</code></pre>`);
      continue;
    }
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    if (h) {
      flush();
      const text = h[2].trim();
      if (h[1].length === 1) title = text;
      out.push(`<h${h[1].length} id="${escape(slug(text.replace(/`/g, '')))}">${inline(text)}</h${h[1].length}>`);
      continue;
    }
    if (/^\|/.test(line)) {
      flush();
      const rows: string[][] = [];
      for (; i < lines.length && /^\|/.test(lines[i]); i++)
        rows.push(
          lines[i]
            .replace(/^\||\|\s*$/g, '')
            .split('|')
            .map((c) => c.trim()),
        );
      i--;
      const body = rows.filter((r) => !r.every((c) => /^:?-+:?$/.test(c)));
      const [head, ...rest] = body;
      out.push(
        `<table><thead><tr>${head.map((c) => `<th>${inline(c)}</th>`).join('')}</tr></thead><tbody>${rest.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`,
      );
      continue;
    }
    const item = /^(\s*)([-*]|\d+\.)\s+(.*)$/.exec(line);
    if (item && item[1].length < 2) {
      const tag = /\d/.test(item[2]) ? 'ol' : 'ul';
      if (para.length || (list && list.tag !== tag)) flush();
      list ??= { tag, items: [] };
      list.items.push(item[3]);
      continue;
    }
    if (line.trim() === '') {
      flush();
      continue;
    }
    // A continuation line: of the current list item (indented or not), else of the paragraph.
    if (list) list.items[list.items.length - 1] += ` ${line.trim()}`;
    else para.push(line.trim());
  }
  flush();
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escape(title)}</title>`,
    '<style>body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:52em;margin:2em auto;padding:0 1em;line-height:1.5;color:#222}code{background:#f3f3f3;padding:0 .2em}pre{background:#f3f3f3;padding:.6em;overflow:auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top}h2{border-top:1px solid #ddd;padding-top:.8em}:target{background:#fff6d5}</style>',
    '</head><body>',
    ...out,
    '</body></html>',
    '',
  ].join('\n');
}
