// Demo client app: picks a directory client, fetches a development-only token, embeds the widget.

const picker = document.getElementById("client");
const form = document.getElementById("pick");
const who = document.getElementById("who");
const problem = document.getElementById("problem");
const STORED = "tre-demo:client";

async function loadClients() {
  const response = await fetch("/api/v1/widget/demo-clients");
  if (!response.ok) {
    problem.textContent = "无法加载演示客户（仅开发模式可用）。";
    return;
  }
  const clients = await response.json();
  for (const client of clients) {
    const option = document.createElement("option");
    option.value = client.id;
    option.textContent = `${client.name}（${client.id}，${client.tier}${client.vip ? "，VIP" : ""}）`;
    picker.appendChild(option);
  }
  const remembered = sessionStorage.getItem(STORED);
  if (remembered && clients.some((c) => c.id === remembered)) {
    picker.value = remembered;
    await start(remembered);
  }
}

async function demoToken(clientId) {
  const response = await fetch("/api/v1/widget/demo-token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_id: clientId }),
  });
  if (!response.ok) {
    throw new Error(`demo token refused: ${response.status}`);
  }
  return (await response.json()).token;
}

async function start(clientId) {
  problem.textContent = "";
  let token;
  try {
    token = await demoToken(clientId);
  } catch (error) {
    problem.textContent = "获取演示凭证失败，请刷新重试。";
    return;
  }
  sessionStorage.setItem(STORED, clientId);
  who.textContent = `当前演示客户：${picker.selectedOptions[0]?.textContent || clientId}`;
  if (window.TREWidget) {
    if (sessionStorage.getItem("tre-demo:embedded") !== clientId) {
      sessionStorage.setItem("tre-demo:embedded", clientId);
      window.location.reload();
      return;
    }
    window.TREWidget.setToken(token);
    return;
  }
  sessionStorage.setItem("tre-demo:embedded", clientId);
  const script = document.createElement("script");
  script.src = "/widget/widget.js";
  script.dataset.api = window.location.origin;
  script.dataset.token = token;
  script.dataset.open = "true";
  document.body.appendChild(script);
}

// The client app renews an expired token when the widget asks for one.
window.addEventListener("tre-widget:auth-required", async () => {
  const clientId = sessionStorage.getItem(STORED);
  if (clientId && window.TREWidget) {
    try {
      window.TREWidget.setToken(await demoToken(clientId));
    } catch (error) {
      problem.textContent = "凭证续期失败，请刷新页面。";
    }
  }
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  start(picker.value);
});

loadClients();
