// Chat: push-to-talk or typed text -> /chat_system; the answer plays from its first streamed sentence.
"use strict";
(() => {
  const { t, el, api, say, errorText, mediaUrl, JobView, Recorder, sleep, stageLabel, fillSelect, pickedModel, deleteButton } = Studio;
  const $ = (id) => document.getElementById(id);
  let conversationId = "";
  let busy = false;
  // Why nothing can be sent: every answer is spoken by the server's voice engine (ECHOFU_TTS_ENGINE),
  // which cannot run here; the server would refuse the turn. Empty while it can.
  let voiceUnavailable = "";
  let providerLabels = new Map();  // what the page calls each chat provider ("local" is the offline model), from /api/engines

  function allowSending() {
    $("chat-send").disabled = busy || Boolean(voiceUnavailable);
    $("chat-talk").disabled = Boolean(voiceUnavailable);
    $("chat-send").title = $("chat-talk").title = voiceUnavailable;
  }

  /**
   * Plays the answer's segments in order as they become ready. A new segment waits for the one
   * loaded to end, even while that one is paused (by the visitor, or by a browser that refused to
   * start it): it starts at once only when nothing is loaded or the last one has finished.
   */
  const player = {
    queue: [],
    played: new Set(),
    idle: true,
    started: false,  // whether the browser has played anything since the reset, or only loaded it
    caption: "",
    reset() {
      this.queue = [];
      this.played = new Set();
      this.idle = true;
      this.started = false;
    },
    add(url) {
      if (this.played.has(url) || this.queue.includes(url)) return;
      this.queue.push(url);
      if (this.idle) this.next();
    },
    next() {
      const url = this.queue.shift();
      this.idle = !url;
      if (!url) return;
      this.played.add(url);
      this.load(url, t("segment", { n: this.played.size }));
    },
    /** A whole answer, chosen by the visitor (its bubble's Play) or joined once its turn is done: shown at once,
     * the sentences still to come waiting for it to end. */
    show(url, question) {
      this.idle = false;
      this.load(url, t("answer_to", { question: question.length > 40 ? `${question.slice(0, 40)}…` : question }));
    },
    /** `url` in the player, started, with `caption` under it. */
    load(url, caption) {
      const video = $("chat-video");
      video.src = url;
      this.caption = caption;
      $("chat-segment-status").textContent = caption;
      video.play().catch((error) => {
        // A browser that starts no video with sound unasked (after a reload) leaves it paused at 0:00, which
        // looks like an answer of a second: say that it waits for play. (A newer load interrupts this one: AbortError.)
        if (error.name === "NotAllowedError" && video.getAttribute("src") === url) {
          $("chat-segment-status").textContent = `${caption} · ${t("press_play")}`;
        }
      });
    },
  };
  $("chat-video").addEventListener("ended", () => player.next());
  $("chat-video").addEventListener("playing", () => {
    player.started = true;
    $("chat-segment-status").textContent = player.caption;
  });

  function bubble(role, ...children) {
    $("chat-empty")?.remove();
    const node = el("div", { class: `bubble ${role}` }, el("div", { class: "small muted", text: role === "user" ? t("you") : t("assistant") }), ...children);
    $("chat-log").append(node);
    $("chat-log").scrollTop = $("chat-log").scrollHeight;
    return node;
  }

  /** The seconds each stage of a turn took; a stage it did not go through (a typed question is not recognised) is left out. */
  function timingsText(timings) {
    if (!timings) return "";
    const parts = ["asr", "llm", "tts", "render", "total"].filter((stage) => typeof timings[stage] === "number")
      .map((stage) => t(`timing:${stage}`, { s: timings[stage].toFixed(1) }));
    if (typeof timings.first_segment === "number") parts.push(t("first_segment", { s: timings.first_segment.toFixed(1) }));
    return parts.join(" · ");
  }

  /** What the user's `question` bubble says: the typed text, or the transcript once recognised. */
  const askedIn = (question) => question.querySelector(".chat-user-text").textContent;

  /** Delete for a turn, asking with `confirmKey`: the user's `question` bubble and the bubble `reply()` gives go. */
  function deleteTurnButton(turn, question, confirmKey, reply) {
    const asked = askedIn(question);
    return deleteButton(`/api/chat/turns/${turn.turn_id}/delete`, asked, t(confirmKey, { name: asked }), "chat-message", async () => {
      question.remove();
      reply().remove();
    });
  }

  /**
   * The digital human's answer to a finished turn, below the user's `question` bubble, with a Delete for
   * the two; returns the answer video's URL ("" when none).
   */
  function answerBubble(turn, question) {
    // A history entry says whether its video is still stored (`available`); a turn just answered has it.
    const video = turn.available === false ? "" : mediaUrl(turn.video_path || turn.response);
    const asked = askedIn(question);
    const answer = bubble("assistant",
      el("div", { class: "chat-reply", text: turn.reply }),
      el("div", { class: "timings chat-timings", text: [timingsText(turn.timings), turn.provider ? t("provider", { provider: providerLabels.get(turn.provider) || turn.provider }) : ""].filter(Boolean).join(" · ") }),
      el("div", { class: "row" },
        video ? el("button", { class: "btn small chat-play", type: "button", text: t("play"), "aria-label": `${t("play")}: ${asked}`,
          onclick: () => {
            player.show(video, asked);
            $("chat-video").scrollIntoView({ block: "nearest" });  // at phone width the player is far above the bubbles
          } }) : null,
        video ? el("a", { class: "small", href: video, download: turn.download_name || video.split("/").pop(), text: t("download") }) : null,
        deleteTurnButton(turn, question, "confirm_delete_turn", () => answer)));
    return video;
  }

  /**
   * Why a turn got no answer (`message`), below the user's `question` bubble; once the turn has failed
   * (a cancel fails it too) with a Delete for the two. `role`: the bubble's classes.
   */
  function failureBubble(turn, question, message, role) {
    const failure = bubble(role, el("div", { class: "chat-failure", text: message }),
      turn?.turn_status === "failed" ? el("div", { class: "row" }, deleteTurnButton(turn, question, "confirm_delete_failed_turn", () => failure)) : null);
  }

  /**
   * The latest conversation, as a reload or a visit from another page left it: its finished turns
   * are shown again and the next message continues it (New conversation starts another).
   */
  async function restoreConversation() {
    const turns = await api("/api/history/chat");  // newest first
    if (!turns.length || conversationId) return;
    conversationId = String(turns[0].conversation_id);
    for (const turn of turns.filter((item) => item.conversation_id === turns[0].conversation_id).reverse()) {
      const userBubble = bubble("user", el("div", { class: "chat-user-text", text: turn.question || "…" }));
      if (turn.turn_status === "succeeded") answerBubble(turn, userBubble);
      else if (turn.turn_status === "failed") failureBubble(turn, userBubble, turn.error, "assistant error");
      else if (!busy) await follow(userBubble, !turn.question, async () => turn);  // the newest: still being answered
    }
  }

  /**
   * One turn: /chat_system with wait=false answers 202 at once with the turn; the page then follows
   * GET /api/chat/turns/<id> (sentence videos as they are ready) and the turn's job (stage, progress).
   */
  async function send(fields, userText) {
    busy = true;  // no second message while the model list is awaited
    allowSending();
    let model;
    try {
      model = await pickedModel($("chat-model"), modelList);
    } catch (error) {
      busy = false;
      allowSending();
      return say("chat-message", errorText(error));  // a typed message stays in its box
    }
    if (fields.text) $("chat-text").value = "";  // from here on it is in the conversation's bubble
    const userBubble = bubble("user", el("div", { class: "chat-user-text", text: userText || "…" }));
    const speaker = $("chat-speaker").value;
    await follow(userBubble, !userText, () => api("/chat_system", {
      model_name: model.type, model_param: model.path, voice_clone: speaker ? "true" : "false", speaker_id: speaker,
      pitch: $("chat-pitch").value, api_choice: $("chat-provider").value, wait: "false",
      conversation_id: conversationId || undefined, ...fields,
    }));
  }

  /**
   * Follows a turn, from `start()` (its /chat_system answer, or the turn as a reload found it still
   * running) to its answer; `heard`: the user's bubble shows the transcript once recognised.
   */
  async function follow(userBubble, heard, start) {
    busy = true;
    allowSending();
    say("chat-message", "");
    const view = new JobView($("chat-job"), { title: t("kind_chat") });
    player.reset();
    let turn = null;
    try {
      turn = await start();
      if (turn.conversation_id) conversationId = String(turn.conversation_id);
      let missed = 0;
      while (turn.turn_status === "running" || turn.status === "processing") {
        await sleep(500 * 2 ** Math.min(missed, 4));
        let latest, job;
        try {
          [latest, job] = await Promise.all([
            api(`/api/chat/turns/${encodeURIComponent(turn.turn_id)}`),
            turn.task_id ? api(`/api/tasks/${encodeURIComponent(turn.task_id)}`).catch(() => null) : null,
          ]);
        } catch (error) {
          // A dropped connection or a restarting server: the turn goes on there, so ask again, less often.
          if (error.status === 404 || ++missed > 8) throw error;
          continue;
        }
        missed = 0;
        turn = latest;
        if (job) view.update(job);
        for (const segment of turn.segments || []) player.add(mediaUrl(segment.video_path));
        if (turn.transcript && heard) userBubble.querySelector(".chat-user-text").textContent = turn.transcript;
      }
      if (turn.turn_status === "failed" || turn.status === "error") {
        throw new Error(turn.stage ? t("stage_failed", { stage: stageLabel(turn.stage), error: turn.error }) : turn.error || turn.message);
      }
      if (turn.transcript && heard) userBubble.querySelector(".chat-user-text").textContent = turn.transcript;
      const video = answerBubble(turn, userBubble);
      // Nothing played yet (no sentence came, or the browser would not start one unasked): the whole answer instead.
      if (video && !player.started) {
        player.reset();
        player.show(video, askedIn(userBubble));
      }
      $("chat-job").replaceChildren();
    } catch (error) {
      // Why the turn failed is said once, in its bubble under the question: the job card keeps only how
      // its job ended (its state badge), or goes when there was none.
      const job = turn && turn.task_id ? await api(`/api/tasks/${encodeURIComponent(turn.task_id)}`).catch(() => null) : null;
      if (job) view.update({ ...job, error: "" });
      else $("chat-job").replaceChildren();
      // A turn cancelled from its card is answered as failed (error "cancelled"): say it was cancelled, not that it failed.
      const cancelled = job?.state === "cancelled";
      failureBubble(turn, userBubble, cancelled ? t("turn_cancelled") : errorText(error), `assistant ${cancelled ? "warn" : "error"}`);
    } finally {
      busy = false;
      allowSending();
    }
  }

  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("chat-text").value.trim();
    if (!text) return say("chat-message", t("empty_message"));
    if ($("chat-send").disabled) return;  // Enter submits the form even then
    send({ text }, text);
  });
  $("chat-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("chat-form").requestSubmit();
    }
  });

  // Push to talk: hold the button (pointer, or Space/Enter on the keyboard), release to send.
  const talk = $("chat-talk");
  const MIN_TALK_SECONDS = 0.5;
  const recorder = new Recorder();
  let starting = null;
  async function startTalking() {
    if (busy || talk.disabled || recorder.active || starting) return;
    say("chat-message", "");
    starting = recorder.start().then(() => {
      talk.classList.add("recording");
      talk.setAttribute("aria-pressed", "true");
      talk.textContent = t("release_to_send");
    }).catch((error) => say("chat-message", errorText(error))).finally(() => { starting = null; });
  }
  async function stopTalking() {
    if (starting) await starting;
    if (!recorder.active) return;
    talk.classList.remove("recording");
    talk.setAttribute("aria-pressed", "false");
    talk.textContent = t("hold_to_talk");
    if (recorder.seconds < MIN_TALK_SECONDS) {
      // A tap (or the first press, answered by the microphone prompt) holds no speech to decode.
      await recorder.discard();
      return say("chat-message", t("hold_longer"));
    }
    try {
      const wav = await recorder.stop();
      await api("/save_audio", { audio: new File([wav], "input.wav", { type: "audio/wav" }) });
      await send({}, "");
    } catch (error) {
      say("chat-message", errorText(error));
    }
  }
  talk.addEventListener("pointerdown", (event) => { talk.setPointerCapture(event.pointerId); startTalking(); });
  talk.addEventListener("pointerup", stopTalking);
  talk.addEventListener("pointercancel", stopTalking);
  talk.addEventListener("keydown", (event) => {
    if ((event.key === " " || event.key === "Enter") && !event.repeat) {
      event.preventDefault();
      startTalking();
    }
  });
  talk.addEventListener("keyup", (event) => {
    if (event.key === " " || event.key === "Enter") {
      event.preventDefault();
      stopTalking();
    }
  });

  $("chat-new").addEventListener("click", () => {
    conversationId = "";
    player.reset();
    const video = $("chat-video");
    video.pause();
    video.removeAttribute("src");
    video.load();  // clears the last frame of the previous answer
    $("chat-log").replaceChildren(el("p", { class: "empty", id: "chat-empty", text: t("conversation_new") }));
    $("chat-segment-status").textContent = "";
    say("chat-message", "");
  });
  $("chat-pitch").addEventListener("input", () => { $("chat-pitch-value").textContent = $("chat-pitch").value; });

  const show = (error) => say("chat-message", errorText(error));
  const modelList = Studio.fillModels($("chat-model"));
  modelList.catch(show);
  const enginesShown = api("/api/engines").then(({ chat_providers: providers, speech_engines: voices }) => {
    const serverDefault = providers.find((provider) => provider.default);
    providerLabels = new Map(providers.map((provider) => [provider.name, provider.label]));
    fillSelect($("chat-provider"), [{ options: providers.map((provider) => Studio.engineOption(provider.name, provider.label, provider)) }],
      { placeholder: Studio.engineOption("", `${t("server_default")} (${serverDefault.label})`, serverDefault) });
    Studio.showUnavailable($("chat-provider-notes"), providers);
    // A model that answers only some languages (the packaged one speaks English only) says so, so the fallback
    // reply to a Chinese question comes as no surprise.
    $("chat-provider-notes").append(...providers.filter((provider) => provider.available && provider.languages).map((provider) =>
      el("li", { class: "engine-note", text: t("provider_languages", {
        provider: provider.label, languages: provider.languages.map((language) => t(`language_${language}`)).join(", ") }) })));
    const voice = voices.find((engine) => engine.default);
    voiceUnavailable = voice.available ? "" : t("answer_engine_unavailable", { type: voice.label, reason: voice.reason });
    $("chat-voice-notes").replaceChildren(...(voiceUnavailable ? [el("li", { class: "engine-note", text: voiceUnavailable })] : []));
    allowSending();
  }).catch(show);
  Studio.fillSpeakers($("chat-speaker")).catch(show);
  enginesShown.then(restoreConversation).catch(show);  // after the providers' labels, which its answers name
})();
