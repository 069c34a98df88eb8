/* The browser side of lint-as-you-edit: bpmn-js-bpmnlint (the overlays on the canvas) with
   Atiende's own rules (bpmnlint-plugin-atiende), bundled by esbuild into dist/ (`make install`)
   and served at /vendor/atiende/. editor-bpmn.js gives the modeler window.AtiendeLint.module
   and a bpmnlint config whose rules it fills with the page's roles, forms and processes. */
import lintModule from "bpmn-js-bpmnlint";
import StaticResolver from "bpmnlint/lib/resolver/static-resolver";
import plugin from "bpmnlint-plugin-atiende";
import carrilDeRol from "bpmnlint-plugin-atiende/rules/carril-de-rol";
import formulario from "bpmnlint-plugin-atiende/rules/formulario";
import script from "bpmnlint-plugin-atiende/rules/script";
import llamada from "bpmnlint-plugin-atiende/rules/llamada";
import repeticion from "bpmnlint-plugin-atiende/rules/repeticion";

const PLUGIN = "bpmnlint-plugin-atiende";
const factories = { "carril-de-rol": carrilDeRol, formulario, script, llamada, repeticion };
const cache = {};
plugin.rules.forEach((name) => { cache["rule:" + PLUGIN + "/" + name] = factories[name]; });

/* bpmn-js-bpmnlint's own words, in Spanish (the rules' messages already are). */
const SPANISH = {
  "{errors} Errors, {warnings} Warnings": "Errores: {errors} · Advertencias: {warnings}",
  "No Issues": "Sin problemas",
  "Issues for child elements": "Problemas de los elementos internos",
  "Toggle linting overlays": "Mostrar u ocultar los problemas del diagrama"
};

function translate(template, replacements) {
  const text = SPANISH[template] || template;
  return text.replace(/{([^}]+)}/g, (whole, key) => (replacements && key in replacements ? replacements[key] : whole));
}

window.AtiendeLint = {
  modules: [lintModule, { translate: ["value", translate] }],
  bpmnlint(data) {
    return {
      config: {
        rules: {
          "atiende/carril-de-rol": ["error", { roles: data.roles }],
          "atiende/formulario": ["error", { forms: data.forms }],
          "atiende/script": "error",
          "atiende/llamada": ["error", { processes: data.processes }],
          "atiende/repeticion": "error"
        }
      },
      resolver: new StaticResolver(cache)
    };
  }
};
