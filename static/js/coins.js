// The "Get coins" card page. The server decides every outcome: the browser only turns the
// card into a PaymentMethod (confirmCardSetup), asks the server to charge it, runs
// confirmCardPayment once if the server says 3-D Secure is needed, and asks the server again.
// It talks to the API (/api/v1/coins/purchases/<id>/confirm/ and the receipt), signed in by
// the session cookie, with the CSRF token on the POST.
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

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  const FAILED = "Something went wrong. Please try again.";

  async function answer(response) {
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      return {status: "error", message: data.message || FAILED};
    }
    return data;
  }

  // Pay with a PaymentMethod: one Idempotency-Key per click on "Pay", reused if the request
  // has to be sent again after a network failure.
  async function confirm(paymentMethod) {
    const key = crypto.randomUUID();
    for (let attempt = 0; ; attempt++) {
      try {
        return await answer(await fetch(root.dataset.confirmUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            "X-CSRFToken": csrf,
          },
          body: JSON.stringify({payment_method: paymentMethod}),
        }));
      } catch (err) {
        if (attempt >= 2) throw err;
        await sleep(600 * (attempt + 1));
      }
    }
  }

  // The purchase as it is now (an open one is re-fetched from Stripe first).
  async function refresh() {
    return answer(await fetch(root.dataset.statusUrl, {
      credentials: "same-origin",
      headers: {"Accept": "application/json"},
    }));
  }

  async function settle(state) {
    // Only the server's answer counts; a processing payment is asked about a few more times.
    for (let i = 0; state.status === "processing" && i < 10; i++) {
      await sleep(1000);
      state = await refresh();
    }
    return state;
  }

  async function authenticate(secret) {
    show("processing", "Waiting for your bank…");
    // Called once per payment: a second pending call would stack a second challenge.
    await stripe.confirmCardPayment(secret);
    return settle(await refresh());
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
        let state = await confirm(typeof paymentMethod === "string" ? paymentMethod : paymentMethod.id);
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
