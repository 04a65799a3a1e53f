// A real local OAuth 2 authorization server for the OAuth e2e tests, run in a child process because
// oauth2-mock-server is ESM-only. It serves the standard mock endpoints (/authorize, /token, /userinfo) plus a
// GitHub-shaped /github/user and /github/user/emails, and a control endpoint:
//   POST /__control {clients?, google?, github?, githubEmails?}  sets what the endpoints answer and clears the log
//   GET  /__control                                              returns the log of authorize/token/resource calls
// The parent learns the port from an IPC message {port}.
import http from 'node:http';
import { OAuth2Issuer, OAuth2Service } from 'oauth2-mock-server';

const issuer = new OAuth2Issuer();
await issuer.keys.generate('RS256');
const service = new OAuth2Service(issuer);

/** What the provider answers; set by the test through /__control. */
let scenario = {
  /** client_id -> client_secret accepted by /token */
  clients: {},
  google: { status: 200, body: { sub: 'google-user' } },
  github: { status: 200, body: { id: 1, login: 'octocat' } },
  githubEmails: { status: 200, body: [] },
};
let log = { authorize: [], token: [], resource: [] };
const issuedTokens = new Set();

function bearer(req) {
  const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  return match ? match[1] : null;
}

service.on('beforeAuthorizeRedirect', (_redirect, req) => {
  log.authorize.push({ ...req.query });
});

service.on('beforeResponse', (response, req) => {
  const body = req.body ?? {};
  log.token.push({ ...body });
  if (!(body.client_id in scenario.clients) || scenario.clients[body.client_id] !== body.client_secret) {
    response.statusCode = 401;
    response.body = { error: 'invalid_client', error_description: 'Unknown client or wrong client secret' };
    return;
  }
  issuedTokens.add(response.body.access_token);
});

service.on('beforeUserinfo', (response, req) => {
  const token = bearer(req);
  log.resource.push({ path: '/userinfo', token });
  if (!token || !issuedTokens.has(token)) {
    response.statusCode = 401;
    response.body = { error: 'invalid_token' };
    return;
  }
  response.statusCode = scenario.google.status;
  response.body = scenario.google.body;
});

function sendJson(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const githubResources = { '/github/user': 'github', '/github/user/emails': 'githubEmails' };

const server = http.createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/__control') {
    if (req.method === 'GET') return sendJson(res, 200, log);
    readBody(req).then(
      (text) => {
        scenario = { ...scenario, ...JSON.parse(text || '{}') };
        log = { authorize: [], token: [], resource: [] };
        sendJson(res, 200, { ok: true });
      },
      (err) => sendJson(res, 500, { error: String(err) }),
    );
    return;
  }
  if (req.method === 'GET' && path in githubResources) {
    const token = bearer(req);
    log.resource.push({ path, token, userAgent: req.headers['user-agent'] ?? null });
    if (!token || !issuedTokens.has(token)) return sendJson(res, 401, { message: 'Bad credentials' });
    const answer = scenario[githubResources[path]];
    return sendJson(res, answer.status, answer.body);
  }
  service.requestHandler(req, res);
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  issuer.url = `http://127.0.0.1:${port}`;
  process.send?.({ port });
});

process.on('disconnect', () => server.close(() => process.exit(0)));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
