// The "Get coins" card page. The server decides every outcome: the browser only turns the
// card into a PaymentMethod (confirmCardSetup), asks the server to charge it, runs
// confirmCardPayment once if the server says 3-D Secure is needed, and asks the server again.
(function () {
  "use strict";
  const root = document.getElementById("checkout");
  if (!root) return;
  const result = document.getElementById("purchase-result");
  const links = document.getElementById("after-links");
  const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  const stripe = Stripe(root.dataset.publishableKey);
  let busy = false;

  function show(status, message) {
    result.dataset.status = status;
    result.textContent = message;
    result.className = status === "failed" || status === "error" ? "error" : status === "paid" ? "success" : "";
  }

  function finish(state) {
    show(state.status, state.message);
    if (state.status === "paid" || state.status === "failed" || state.status === "abandoned") {
      document.querySelectorAll("#pay-form, #authenticate-button").forEach((el) => { el.hidden = true; });
    }
    if (typeof state.balance === "number") {
      document.querySelectorAll("[data-testid=nav-balance] .coins").forEach((el) => {
        el.textContent = String(state.balance);
      });
    }
    links.hidden = false;
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      return {status: "error", message: data.message || "Something went wrong. Please try again."};
    }
    return data;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function settle(state) {
    // Only the server's answer counts; a processing payment is asked about a few more times.
    for (let i = 0; state.status === "processing" && i < 10; i++) {
      await sleep(1000);
      state = await post(root.dataset.statusUrl);
    }
    return state;
  }

  async function authenticate(secret) {
    show("processing", "Waiting for your bank…");
    // Called once per payment: a second pending call would stack a second challenge.
    await stripe.confirmCardPayment(secret);
    return settle(await post(root.dataset.statusUrl));
  }

  const form = document.getElementById("pay-form");
  if (form) {
    const card = stripe.elements().create("card");
    card.mount("#card-element");
    const button = document.getElementById("pay-button");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (busy) return;
      busy = true;
      button.disabled = true;
      show("processing", "Checking your card…");
      try {
        const setup = await stripe.confirmCardSetup(root.dataset.setupSecret, {payment_method: {card: card}});
        if (setup.error || !setup.setupIntent) {
          const message = (setup.error && setup.error.message) || "Your card could not be used.";
          show("failed", message + " Reload the page to try another card.");
          links.hidden = false;
          return;
        }
        const paymentMethod = setup.setupIntent.payment_method;
        let state = await post(root.dataset.confirmUrl, {
          payment_method: typeof paymentMethod === "string" ? paymentMethod : paymentMethod.id,
        });
        if (state.status === "requires_action" && state.client_secret) {
          state = await authenticate(state.client_secret);
        } else {
          state = await settle(state);
        }
        finish(state);
      } catch (err) {
        show("error", "Something went wrong. Check your purchase history before trying again.");
        links.hidden = false;
      }
    });
  }

  const authButton = document.getElementById("authenticate-button");
  if (authButton) {
    authButton.addEventListener("click", async () => {
      if (busy) return;
      busy = true;
      authButton.disabled = true;
      finish(await authenticate(root.dataset.actionSecret));
    });
  }
})();
