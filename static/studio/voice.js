// Voice: reference audios (upload or record), speaker profiles, speech in a cloned voice.
"use strict";
(() => {
  const { t, el, api, upload, say, errorText, sayError, formatSeconds, formatTime, mediaUrl, JobView, watchJob, runTracked, recordButton, fillSelect, downloadLink,
    deleteButton, number } = Studio;
  const $ = (id) => document.getElementById(id);
  // Python's \w (letters and digits of any script, Chinese included, and _) and . -, as assets.voice_forms.SPEAKER_ID.
  const PROFILE_NAME = /^[\p{L}\p{N}_.-]{1,64}$/u;

  async function refreshReferences() {
    const { files } = await api("/api/reference-audios");
    $("reference-list").replaceChildren(...(files.length ? files.map((file) => el("li", { class: "reference-item" },
      el("div", { class: "item-title", text: file.original_name || file.name }),
      file.consent_revoked ? el("div", { class: "alert error small", text: t("consent_revoked") }) : null,
      el("div", { class: "item-meta" }, el("span", { text: file.name }), el("span", { text: formatSeconds(file.duration) }),
        el("span", { text: `${file.size_mb} MB` }), el("span", { text: formatTime(file.created_time) })),
      el("div", { class: "row" }, el("audio", { controls: true, preload: "none", src: mediaUrl(file.relative_path), "aria-label": file.original_name || file.name }),
        deleteButton(`/api/reference-audios/${file.id}/delete`, file.original_name || file.name,
          t("confirm_delete_reference", { name: file.original_name || file.name }), "reference-message",
          () => Promise.all([refreshReferences(), refreshProfiles()]))),
    )) : [el("li", { class: "empty", text: t("no_references") })]));
    fillSelect($("profile-reference"), [{ options: files.map((file) => ({ value: file.relative_path, label: `${Studio.fileLabel(file)} (${formatSeconds(file.duration)})`,
      disabled: file.consent_revoked, title: file.consent_revoked ? t("consent_revoked") : null })) }],
      { placeholder: t("pick_reference") });
    return files;
  }

  const percent = (rate) => (typeof rate === "number" ? `${Math.round(rate * 100)} %` : "—");

  /**
   * What a clone's self-evaluation measured (assets' SpeakerProfile.self_evaluation): the check sentences in
   * the cloned voice against its recording, beside the same utterances before conversion. Empty for voices cloned before it,
   * those a chat turn or one-shot speech cloned and those whose measurement failed, until manage.py measure_voices measures
   * them: the page then says they were not measured.
   */
  function voiceFigures(evaluation) {
    if (!evaluation || !evaluation.similarity) return el("div", { class: "voice-figures small", style: "color:var(--muted)", text: t("voice_not_measured") });
    const likeness = Object.entries(evaluation.similarity).map(([encoder, figures]) =>
      t("likeness_figure", { encoder, clone: number(figures.clone, 2), base: number(figures.base, 2) }));
    const misheard = Object.entries(evaluation.languages).filter(([, figures]) => typeof figures.clone.error_rate === "number")
      .map(([language, figures]) => t(figures.error_unit === "char" ? "misheard_characters" : "misheard_words",
        { language: t(`language_${language}`), clone: percent(figures.clone.error_rate), base: percent(figures.base.error_rate) }));
    const notCloser = Object.values(evaluation.closer).some((closer) => !closer);
    return el("div", { class: "voice-figures small", title: t("voice_figures_hint") },
      el("div", { text: t("likeness", { figures: likeness.join(" · ") }) }),
      misheard.length ? el("div", { text: t("misheard", { figures: misheard.join(" · ") }) }) : null,
      notCloser ? el("div", { style: "color:var(--warn)", text: t("voice_not_closer") }) : null);
  }

  /** A voice's versions, each with its own Delete: the voice's Delete takes them all, and its last version is the voice. */
  function versionList(profile) {
    return el("ul", { class: "items versions", "aria-label": t("versions_of", { name: profile.name }) },
      ...profile.versions.map((version) => {
        const name = `${profile.name} v${version.version}`;
        const likeness = version.self_evaluation?.similarity?.resemblyzer;
        return el("li", { class: "version-item" },
          el("span", { text: t("version", { n: version.version }) }),
          el("span", { class: "item-meta", text: formatTime(version.created_at) }),
          likeness ? el("span", { class: "item-meta", text: t("likeness_short", { clone: number(likeness.clone, 2) }) }) : null,
          deleteButton(`/api/cloned-audios/${encodeURIComponent(profile.id)}/versions/${version.version}/delete`, name,
            t("confirm_delete_version", { name }), "profile-message", refreshProfiles));
      }));
  }

  async function refreshProfiles() {
    const { audios } = await api("/api/cloned-audios");
    $("profile-list").replaceChildren(...(audios.length ? audios.map((profile) => el("li", { class: "profile-item" },
      el("div", { class: "item-title", text: profile.name }),
      el("div", { class: "item-meta" }, el("span", { text: t("version", { n: profile.version }) }),
        profile.f0_mean ? el("span", { text: t("f0", { f0: Math.round(profile.f0_mean) }) }) : null,
        el("span", { text: formatSeconds(profile.duration) }), el("span", { text: formatTime(profile.created_at) })),
      voiceFigures(profile.self_evaluation),
      el("div", { class: "row" },
        profile.clean_clip ? el("audio", { controls: true, preload: "none", src: mediaUrl(profile.clean_clip), "aria-label": profile.name }) : null,
        deleteButton(`/api/cloned-audios/${encodeURIComponent(profile.id)}/delete`, profile.name,
          t("confirm_delete_voice", { name: profile.name }), "profile-message", refreshProfiles)),
      profile.versions.length > 1 ? versionList(profile) : null,
    )) : [el("li", { class: "empty", text: t("no_profiles") })]));
    fillSelect($("speak-speaker"), [{ options: audios.map((profile) => ({ value: profile.id, label: `${profile.name} (${t("version", { n: profile.version })})` })) }],
      { placeholder: t("pick_speaker") });
    if (!$("speak-speaker").value && audios.length) Studio.choose($("speak-speaker"), audios[0].id);
  }

  async function refreshSpeech() {
    const spoken = await Studio.synthesisedSpeech();
    $("speech-list").replaceChildren(...(spoken.length ? spoken.slice(0, 10).map((entry) => {
      const title = entry.params.text || entry.result.cloned_audio_path;
      return el("li", { class: "speech-item" },
        el("div", { class: "item-title", text: title }),
        el("div", { class: "item-meta" }, el("span", { text: entry.params.speaker_id || "" }), el("span", { text: formatTime(entry.timestamp) })),
        el("div", { class: "row" }, el("audio", { controls: true, preload: "none", src: mediaUrl(entry.result.cloned_audio_path), "aria-label": entry.params.text || "" }),
          downloadLink(entry.result.cloned_audio_path),
          deleteButton(`/api/generated-audios/${entry.audio_id}/delete`, title, t("confirm_delete_speech", { name: title }), "speak-message", refreshSpeech)));
    }) : [el("li", { class: "empty", text: t("no_speech") })]));
  }

  /** Uploads a reference; true when it was stored. */
  async function storeReference(file, name) {
    const bar = $("reference-progress");
    bar.hidden = false;
    bar.value = 0;
    say("reference-message", "");
    const audio = name ? new File([file], name, { type: file.type }) : file;
    try {
      const body = await upload("/api/upload-reference-audio", { audio, ...Studio.consentFields("reference") },
        (fraction) => {
          bar.value = Math.round(fraction * 100);
          say("reference-message", t("uploading", { percent: bar.value }), "ok");
        });
      bar.value = 100;
      say("reference-message", t("reference_uploaded", { name: body.original_name }), "ok");
      await refreshReferences();
      Studio.choose($("profile-reference"), body.relative_path);
      return true;
    } catch (error) {
      if (name) {
        // A recording the server refused (no consent stated, say) is kept in the file field, to be
        // sent again with the Upload button instead of recorded again.
        const kept = new DataTransfer();
        kept.items.add(audio);
        $("reference-file").files = kept.files;
        say("reference-message", `${errorText(error)} ${t("recording_kept")}`);
      } else {
        say("reference-message", errorText(error));
      }
      return false;
    } finally {
      bar.hidden = true;
    }
  }

  $("reference-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = $("reference-file").files[0];
    if (!file) {
      say("reference-message", t("choose_file"));
      return;
    }
    const button = $("reference-upload");
    button.disabled = true;
    // A refused file stays chosen, to be sent again once the reason (consent, say) is dealt with.
    if (await storeReference(file)) $("reference-file").value = "";
    button.disabled = false;
  });

  recordButton($("reference-record"), $("record-status"),
    (wav) => storeReference(wav, `recording_${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, "")}.wav`),
    (error) => say("reference-message", errorText(error)));

  $("profile-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const reference = $("profile-reference").value;
    if (!reference) {
      say("profile-message", t("pick_reference"));
      return;
    }
    const name = $("profile-id").value.trim();
    // The server's rule (a speaker ID) said by this field's name: its refusal names the form field, target_audio_id.
    if (name && !PROFILE_NAME.test(name)) {
      say("profile-message", t("bad_profile_name"));
      return;
    }
    const button = $("profile-create");
    button.disabled = true;
    say("profile-message", "");
    const view = new JobView($("profile-job"), { title: t("kind_clone") });
    try {
      const { body } = await runTracked("/audio_clone", { original_audio_path: reference, target_audio_id: name }, ["clone"], view);
      say("profile-message", t("profile_created", { id: body.speaker_id, version: body.version }), "ok");
      await refreshProfiles();
      Studio.choose($("speak-speaker"), body.speaker_id);
    } catch (error) {
      sayError("profile-message", error);
    } finally {
      button.disabled = false;
    }
  });

  $("speak-pitch").addEventListener("input", () => { $("speak-pitch-value").textContent = $("speak-pitch").value; });

  $("speak-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("speak-text").value.trim();
    const speaker = $("speak-speaker").value;
    if (!text) return say("speak-message", t("enter_text"));
    if (!speaker) return say("speak-message", t("pick_speaker"));
    const button = $("speak-run");
    button.disabled = true;
    say("speak-message", "");
    $("speak-result").replaceChildren();
    const view = new JobView($("speak-job"), { title: t("kind_synthesize") });
    try {
      const { body } = await runTracked("/audio_clone", { generate_text: text, audio_id: speaker, engine: $("speak-engine").value, pitch: $("speak-pitch").value,
        room_tone: $("speak-room").checked ? "true" : "false" },
        ["synthesize"], view);
      say("speak-message", t("speech_ready"), "ok");
      $("speak-result").replaceChildren(el("div", { class: "row" },
        el("audio", { id: "speak-audio", controls: true, src: mediaUrl(body.cloned_audio_path), "aria-label": text }),
        downloadLink(body.cloned_audio_path)));
      refreshSpeech();
    } catch (error) {
      sayError("speak-message", error);
    } finally {
      button.disabled = false;
    }
  });

  /** The engine choices marked with what this machine can run; a choice it cannot run moves to one it can. */
  async function refreshEngines() {
    const { speech_engines: engines } = await api("/api/engines");
    fillSelect($("speak-engine"), [{ options: engines.map((engine) => Studio.engineOption(engine.name, engine.label, engine)) }]);
    Studio.showUnavailable($("speak-engine-notes"), engines);
  }

  // A profile or speech started earlier (before a reload, in another tab) is shown live too, and its list
  // redrawn once it is done, unless one started here has taken the card since.
  [["clone", "profile-job", "kind_clone", refreshProfiles], ["synthesize", "speak-job", "kind_synthesize", refreshSpeech]].forEach(([kind, card, title, redraw]) => {
    api(`/api/tasks?kind=${kind}&active=1&limit=1`).then(async ({ tasks }) => {
      if (!tasks.length || $(card).childElementCount) return;
      const view = new JobView($(card), { title: t(title) });
      const job = await watchJob(tasks[0].task_id, view);
      if (job.state === "succeeded" && view.root.isConnected) await redraw();
    }).catch(() => {});
  });

  const show = (id) => (error) => say(id, errorText(error));
  refreshEngines().catch(show("speak-message"));
  refreshReferences().catch(show("reference-message"));
  refreshProfiles().catch(show("profile-message"));
  refreshSpeech().catch(show("speak-message"));
})();
