// Draw a case's network (vis-network, served by us) from its JSON; a click on a node opens
// that customer's or shared value's profile. The table below lists the same customers.
(function () {
  "use strict";
  var target = document.getElementById("network");
  var status = document.getElementById("network-status");
  if (!target) return;
  var COLORS = {
    fraud: "#b42318", decline: "#e0584f", review: "#b54708", approve: "#067647",
    device: "#475467", ip: "#475467", card: "#475467", email: "#475467",
  };

  function title(node) {
    if (node.kind !== "customer") return node.kind + " shared by the customers it links";
    var mix = Object.keys(node.outcomes).map(function (o) { return o + " " + node.outcomes[o]; });
    return node.value + ": " + node.transactions + " transactions, " + node.fraud_labelled +
      " labelled fraud (" + mix.join(", ") + ")";
  }

  function row(node) {
    var tr = document.createElement("tr");
    var link = document.createElement("a");
    link.href = node.url;
    link.textContent = node.value;
    var cells = [link, String(node.hop), String(node.transactions), String(node.fraud_labelled),
      Object.keys(node.outcomes).map(function (o) { return o + " " + node.outcomes[o]; }).join(", ")];
    cells.forEach(function (content) {
      var td = document.createElement("td");
      if (typeof content === "string") td.textContent = content; else td.appendChild(content);
      tr.appendChild(td);
    });
    return tr;
  }

  fetch(target.dataset.url, { headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) throw new Error("the network did not load (" + response.status + ")");
      return response.json();
    })
    .then(function (graph) {
      var byId = {};
      var nodes = graph.nodes.map(function (node) {
        byId[node.id] = node;
        var customer = node.kind === "customer";
        return {
          id: node.id, label: node.label, title: title(node),
          shape: customer ? "dot" : "box", size: node.id === graph.center ? 22 : 14,
          color: { background: COLORS[node.group] || "#475467", border: node.id === graph.center ? "#101828" : "#ffffff" },
          borderWidth: node.id === graph.center ? 4 : 1,
          font: customer ? { color: "#101828" } : { color: "#ffffff", size: 12 },
        };
      });
      var edges = graph.edges.map(function (edge) { return { from: edge.source, to: edge.target, color: "#98a2b3" }; });
      var network = new window.vis.Network(target, { nodes: nodes, edges: edges }, {
        physics: { stabilization: { iterations: 300 } }, interaction: { hover: true },
      });
      network.on("click", function (params) {
        if (params.nodes.length) window.location.href = byId[params.nodes[0]].url;
      });
      network.once("stabilizationIterationsDone", function () {
        network.setOptions({ physics: false });
        network.fit();
        target.dataset.state = "ready";
      });
      var tbody = document.querySelector("#network-table tbody");
      graph.nodes.forEach(function (node) { if (node.kind === "customer") tbody.appendChild(row(node)); });
      var customers = graph.nodes.filter(function (n) { return n.kind === "customer"; }).length;
      status.textContent = (customers - 1) + " linked customers" + (graph.capped ? " (capped: the network is larger)" : "") + ".";
      // The browser tests find a node's place on screen through this.
      window.fraudopsNetwork = network;
    })
    .catch(function (error) { status.textContent = error.message; });
})();
