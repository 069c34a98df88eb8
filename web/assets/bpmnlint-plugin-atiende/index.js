/* Atiende's bpmnlint rules: what the engine refuses at deploy (engine/bpm/parsing.py lint,
   engine/bpm/rules.py), checked while the analyst draws, with the engine's Spanish messages.
   The editor page passes the data they need (the office's roles, the forms, the draft's
   processes) as each rule's configuration; «Validar» stays the full check. Plain and manual
   tasks need no rule: the engine runs them through (engine/bpm/pass_through.py). */
module.exports = {
  configs: {},
  rules: ["carril-de-rol", "formulario", "script", "llamada", "repeticion"]
};
