// The moderators' console: GraphiQL, a sign-in of our own, and the ready-made operations.
// The session token lives in this tab's sessionStorage only: it is sent as
// `Authorization: Bearer` on HTTP and in `connection_init` on WebSocket, and dropped on sign-out
// or on any 401. No cookie is ever set.
"use strict";

(function () {
  const TOKEN_KEY = "hub-console:token";
  const VIEWER_KEY = "hub-console:viewer";
  const LOGIN = "mutation SignIn($input: LoginInput!) { login(input: $input) { token viewer { id name role } errors { message code } } }";
  const LOGOUT = "mutation SignOut { logout { loggedOut errors { message code } } }";
  const ACCEPT = "application/graphql-response+json, application/json";

  const endpoint = document.body.dataset.endpoint;
  const element = (id) => document.getElementById(id);
  const root = ReactDOM.createRoot(element("graphiql"));
  let tabs = [];
  let generation = 0;

  const token = () => sessionStorage.getItem(TOKEN_KEY);
  const say = (text) => { element("status").textContent = text; };

  function socketUrl() {
    const url = new URL(endpoint, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.href;
  }

  function forget(reason) {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(VIEWER_KEY);
    say(reason);
    render();
  }

  // GraphiQL's HTTP requests go through here: the token is added, and a 401 ends the session.
  async function signedFetch(input, init) {
    const current = token();
    const headers = new Headers((init && init.headers) || {});
    if (current) headers.set("Authorization", "Bearer " + current);
    const response = await fetch(input, Object.assign({}, init, { headers: headers }));
    if (response.status === 401 && current !== null && current === token()) {
      forget("Your session has ended: sign in again.");
    }
    return response;
  }

  async function post(query, variables, bearer) {
    const headers = { "Content-Type": "application/json", Accept: ACCEPT };
    if (bearer) headers.Authorization = "Bearer " + bearer;
    const response = await fetch(endpoint, {
      method: "POST", headers: headers, body: JSON.stringify({ query: query, variables: variables }),
    });
    return response.json();
  }

  function showViewer() {
    const viewer = JSON.parse(sessionStorage.getItem(VIEWER_KEY) || "null");
    const signedIn = token() !== null && viewer !== null;
    element("sign-in").hidden = signedIn;
    element("signed-in").hidden = !signedIn;
    element("signed-in-name").textContent = signedIn ? viewer.name : "";
    element("signed-in-role").textContent = signedIn ? viewer.role : "";
  }

  // GraphiQL reads a tab's document a moment (100 ms) after the tab is switched to: a run in
  // that moment sends this tab's text with the previous tab's operation name and parsed
  // document. The hub would answer "Unknown operation named ...", and GraphiQL's fetcher, which
  // picks the WebSocket by that document and name, would send a subscription over HTTP. So the
  // text that is sent decides: a name it does not define is replaced by the name of its only
  // operation (a text of several still needs its name: the hub says so), and a parsed document
  // of another text is replaced by the outline of this one.
  function namesFromTheDocument(fetcher) {
    return function (params, options) {
      const text = params.query || "";
      const operations = scanOperations(text);
      const names = operations.map((operation) => operation.name);
      if (!names.includes(params.operationName || null)) {
        params = Object.assign({}, params, { operationName: names.length === 1 ? names[0] : null });
      }
      const parsed = options && options.documentAST;
      if (!(parsed && parsed.loc && parsed.loc.source.body === text)) {
        options = Object.assign({}, options, { documentAST: outline(operations) });
      }
      return fetcher(params, options);
    };
  }

  // The operations a document's text defines, as [{ operation, name }] (name null when
  // anonymous): its top-level definitions, strings and comments skipped.
  function scanOperations(text) {
    const code = text.replace(/"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*/g, " ");
    const tokens = /[{}()]|\b(query|mutation|subscription|fragment)\b(?:\s+([_A-Za-z]\w*))?/g;
    const operations = [];
    let braces = 0;
    let parens = 0;
    let defining = false; // a definition's keyword was read, its selection set not yet
    for (let match = tokens.exec(code); match !== null; match = tokens.exec(code)) {
      const token = match[0];
      if (token === "(" || token === ")") {
        parens += token === "(" ? 1 : -1;
      } else if (parens > 0) {
        continue; // arguments and variables' default values
      } else if (token === "{") {
        if (braces === 0 && !defining) operations.push({ operation: "query", name: null });
        defining = false;
        braces += 1;
      } else if (token === "}") {
        braces -= 1;
      } else if (braces === 0 && !defining) {
        defining = true;
        if (match[1] !== "fragment") operations.push({ operation: match[1], name: match[2] || null });
      }
    }
    return operations;
  }

  // A parsed document's outline: what GraphiQL's fetcher reads to choose HTTP or WebSocket.
  function outline(operations) {
    return {
      kind: "Document",
      definitions: operations.map((operation) => ({
        kind: "OperationDefinition",
        operation: operation.operation,
        name: operation.name ? { kind: "Name", value: operation.name } : undefined,
      })),
    };
  }

  // A new fetcher after every sign-in or sign-out, and GraphiQL mounted afresh (`key`), so the
  // schema is fetched again with the new rights. (Sockets signed in with a token that logout
  // revoked are closed by the server.)
  function render() {
    const current = token();
    generation += 1;
    showViewer();
    const fetcher = namesFromTheDocument(GraphiQL.createFetcher({
      url: endpoint,
      subscriptionUrl: socketUrl(),
      fetch: signedFetch,
      enableIncrementalDelivery: false,
      wsConnectionParams: current ? { authorization: "Bearer " + current } : {},
    }));
    root.render(React.createElement(GraphiQL, {
      key: generation,
      fetcher: fetcher,
      defaultTabs: tabs,
      storage: window.sessionStorage,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      shouldPersistHeaders: false,
    }));
  }

  async function signIn(event) {
    event.preventDefault();
    say("Signing in…");
    const input = { email: element("sign-in-email").value, password: element("sign-in-password").value };
    let result;
    try {
      result = await post(LOGIN, { input: input }, null);
    } catch (error) {
      say("Cannot reach the hub: " + error);
      return;
    }
    const payload = result.data && result.data.login;
    if (!payload || !payload.token) {
      const errors = (payload && payload.errors) || result.errors || [];
      say("Not signed in: " + (errors.map((e) => e.message).join(" ") || "unknown error"));
      return;
    }
    element("sign-in-password").value = "";
    sessionStorage.setItem(TOKEN_KEY, payload.token);
    sessionStorage.setItem(VIEWER_KEY, JSON.stringify(payload.viewer));
    say("Signed in.");
    render();
  }

  async function signOut() {
    const current = token();
    if (current) {
      try {
        await post(LOGOUT, {}, current);
      } catch (error) {
        // The token is dropped from the tab whatever the server says; it expires on its own.
      }
    }
    forget("Signed out.");
  }

  async function start() {
    element("sign-in").addEventListener("submit", signIn);
    element("sign-out").addEventListener("click", signOut);
    try {
      const response = await fetch(document.body.dataset.operations, { headers: { Accept: "application/json" } });
      tabs = await response.json();
    } catch (error) {
      say("The ready-made operations could not be loaded: " + error);
    }
    render();
  }

  start();
})();
