/* The 沙盒 chat page's one script: a notification the bot sends on its own (a reminder, the office's
   decision) reaches this chat while nobody presses anything. Every few seconds the page asks whether
   the chat changed and, if so and nothing is being typed or chosen, shows it again. Without it the
   visitor would have to reload by hand to see what the other personas' actions caused. A file of its
   own, not inline: the desk's Content-Security-Policy runs scripts from the desk's own files only. */
(function () {
  var me = document.currentScript;
  var version = me.dataset.version;
  var seat = me.dataset.seat;
  var typing = function () {
    var fields = document.querySelectorAll(".compose input[type=text], .compose input[type=file]");
    for (var i = 0; i < fields.length; i++) { if (fields[i].value) { return true; } }
    return false;
  };
  setInterval(function () {
    if (document.hidden || typing()) { return; }
    fetch("/sandbox/" + seat + "/version", {cache: "no-store"}).then(function (answer) {
      return answer.ok ? answer.text() : version;
    }).then(function (now) {
      if (now !== version) {
        if (location.search) { location.replace(location.pathname + "#latest"); } else { location.reload(); }
      }
    }).catch(function () {});
  }, 4000);
})();
