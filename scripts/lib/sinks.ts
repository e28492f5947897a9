// Local stand-ins for Discord, the dead man's switch and the mail server, so the shipped
// Alertmanager receivers can deliver on a machine with none of them configured: the native
// stack prints what arrives, the end-to-end test asserts on it. Loopback only.
import http from 'node:http';
import net from 'node:net';

export interface Notification {
  /** 'discord', 'watchdog' (the path the webhook was posted to) or 'email'. */
  channel: string;
  receivedAt: number;
  /** Parsed JSON for webhooks; the decoded message for mail. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read Discord's and Alertmanager's JSON freely
  body: any;
}

export interface Sink {
  port: number;
  received: Notification[];
  close(): Promise<void>;
}

/** An HTTP server that accepts any POST and records it under its path ('/discord' -> 'discord'). */
export function startWebhookSink(onReceive: (n: Notification) => void = () => undefined): Promise<Sink> {
  const received: Notification[] = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => {
      let body: unknown = data;
      try {
        body = JSON.parse(data);
      } catch {
        // kept as text
      }
      const n = {
        channel: (req.url ?? '/').replace(/^\/+/, '').split('?')[0] || 'webhook',
        receivedAt: Date.now(),
        body,
      };
      received.push(n);
      // Discord answers 204 to a webhook post.
      res.writeHead(204).end();
      onReceive(n);
    });
  });
  return listen(server, received);
}

/** A minimal SMTP server (no TLS, no auth) that accepts every message. */
export function startSmtpSink(onReceive: (n: Notification) => void = () => undefined): Promise<Sink> {
  const received: Notification[] = [];
  const server = net.createServer((socket) => {
    let buffer = '';
    let inData = false;
    socket.write('220 edgewatch-sink ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          const n = { channel: 'email', receivedAt: Date.now(), body: decodeMail(buffer.slice(0, end)) };
          received.push(n);
          buffer = buffer.slice(end + 5);
          inData = false;
          socket.write('250 queued\r\n');
          onReceive(n);
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) return;
        const line = buffer.slice(0, eol).toUpperCase();
        buffer = buffer.slice(eol + 2);
        if (line.startsWith('EHLO')) socket.write('250-edgewatch-sink\r\n250 8BITMIME\r\n');
        else if (line.startsWith('DATA')) {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (line.startsWith('QUIT')) socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
    socket.on('error', () => undefined);
  });
  return listen(server, received);
}

function listen(server: http.Server | net.Server, received: Notification[]): Promise<Sink> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        received,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      }),
    );
  });
}

/** A mail as a reader sees it: SMTP dot-stuffing, RFC 2047 headers and quoted-printable undone. */
export function decodeMail(raw: string): string {
  const unstuffed = raw.replace(/\r\n\.\./g, '\r\n.');
  const headers = unstuffed.replace(/=\?utf-8\?q\?(.*?)\?=/gi, (_m, word: string) => word.replace(/_/g, ' '));
  const bytes = headers
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/** One notification as a few readable lines for a console. */
export function formatNotification(n: Notification): string {
  const time = new Date(n.receivedAt).toISOString().slice(11, 19);
  if (n.channel === 'email') {
    const mail = String(n.body);
    const header = (name: string) => new RegExp(`^${name}: (.*)$`, 'mi').exec(mail)?.[1]?.trim() ?? '';
    return `${time} email to ${header('To')}: ${header('Subject')}`;
  }
  const embeds = (n.body as { embeds?: Array<{ title?: string; description?: string }> })?.embeds;
  if (Array.isArray(embeds)) {
    // The Query link is a URL-encoded PromQL expression, unreadable in a terminal: Prometheus's
    // /alerts page shows the same.
    const text = (e: { description?: string }) => (e.description ?? '').replace(/ · \[Query\]\([^)]*\)/g, '').trimEnd();
    return `${time} ${n.channel}: ${embeds.map((e) => `${e.title ?? ''}\n${indent(text(e))}`).join('\n')}`;
  }
  const alerts = (n.body as { status?: string; alerts?: Array<{ labels?: Record<string, string> }> })?.alerts;
  if (Array.isArray(alerts)) {
    const names = alerts.map((a) => a.labels?.alertname ?? '?').join(', ');
    return `${time} ${n.channel}: ${(n.body as { status?: string }).status ?? ''} ${names}`;
  }
  return `${time} ${n.channel}: ${typeof n.body === 'string' ? n.body : JSON.stringify(n.body)}`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
