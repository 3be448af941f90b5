// The archdsl extension: the TextMate grammar highlights, and `archdsl lsp`
// (started over stdio) does everything else. Install: docs/editor.md.
"use strict";
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("archdsl");
  const [command, ...args] = config.get("server.command", ["archdsl", "lsp"]);
  const server = { command, args, transport: TransportKind.stdio };
  client = new LanguageClient("archdsl", "archdsl", { run: server, debug: server }, {
    documentSelector: [{ scheme: "file", language: "arch" }, { scheme: "untitled", language: "arch" }],
    initializationOptions: { debounce: config.get("debounce", 0.1) },
  });
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
