// Starts GraphiQL with the Explorer plugin on this page's own URL (the page's CSP allows
// scripts from this origin only, so this cannot be an inline script).  Adapted from
// Strawberry's built-in template, without the CDN, cookies or subscriptions.
(function () {
  "use strict";

  var WELCOME = [
    "# GraphiQL for the MHI citizens' API (development only).",
    "#",
    "# To sign in, follow the steps `make run` printed:",
    "# requestSignInCode, the code at /dev/sms, signIn,",
    "# then put into the Headers tab below:",
    '#   {"Authorization": "Bearer <accessToken>"}',
    "#",
    "# Ctrl-Enter runs the query; Ctrl-Space completes.",
    "",
    "query Help {",
    "  helpArticles(first: 3) { edges { node { title } } }",
    "}",
    "",
  ].join("\n");

  var parameters = {};
  window.location.search.slice(1).split("&").forEach(function (entry) {
    var eq = entry.indexOf("=");
    if (eq >= 0) {
      parameters[decodeURIComponent(entry.slice(0, eq))] = decodeURIComponent(entry.slice(eq + 1));
    }
  });

  function updateURL(data) {
    Object.assign(parameters, data);
    var search = Object.keys(parameters)
      .filter(function (key) { return Boolean(parameters[key]); })
      .map(function (key) {
        return encodeURIComponent(key) + "=" + encodeURIComponent(parameters[key]);
      })
      .join("&");
    history.replaceState(null, "", "?" + search);
  }

  var fetcher = GraphiQL.createFetcher({ url: window.location.href.split("?")[0] });
  var explorer = GraphiQLPluginExplorer.explorerPlugin();

  function Page() {
    var query = React.useState(parameters.query || WELCOME);
    var variables = React.useState(parameters.variables);
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [explorer],
      query: query[0],
      variables: variables[0],
      defaultEditorToolsVisibility: true,
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      onEditQuery: function (value) { query[1](value); updateURL({ query: value }); },
      onEditVariables: function (value) { variables[1](value); updateURL({ variables: value }); },
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(Page));
})();
