/**
 * CodeLens over every charted Python function and Rust `#[chart]` fn: "Show chart", "Hide/Show
 * series" while the chart is open, and the series' facts when the shown run has them. Sites come
 * from chartSites.ts (decorator lines only), so lenses follow typing at no language-server cost.
 */
import * as vscode from "vscode";
import { findChartSites, type SiteLanguage } from "./chartSites.js";
import { strategyClasses, type StrategyArgs } from "./strategyRuns.js";
import type { ChartPanels } from "./panel.js";
import { describeFacts, seriesByInstance, type SeriesFacts } from "./seriesFacts.js";
import { readSettings } from "./settings.js";

/** Arguments of chartbridge.showChart / chartbridge.toggleSeries when a lens runs them. */
export interface SiteArgs {
  series: string[];
}

export class ChartLenses implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  /** Facts of the series of the run the chart shows, by series id. */
  facts = new Map<string, SeriesFacts>();

  constructor(private readonly charts: ChartPanels) {}

  refresh(): void {
    this.changed.fire();
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!readSettings().codeLens) return [];
    const language = document.languageId as SiteLanguage;
    const lenses: vscode.CodeLens[] = [];
    const sites = findChartSites(document.getText(), language);
    if (language === "python") {
      for (const { line, name } of strategyClasses(document.getText(), sites.flatMap((s) => s.series))) {
        const args: StrategyArgs = { strategy: name };
        lenses.push(new vscode.CodeLens(new vscode.Range(line, 0, line, 0), { title: "$(diff) Compare with Previous Run", command: "chartbridge.compareWithPrevious", arguments: [args], tooltip: `Compare the newest run of ${name} with the one before` }));
      }
    }
    for (const site of sites) {
      const range = new vscode.Range(site.line, 0, site.line, 0);
      // Every calling object's series: "Show chart" finds a run with any, the facts count each.
      const instances = seriesByInstance(site.series, this.facts.keys());
      const args: SiteArgs = { series: [...instances.values()].flat() };
      lenses.push(new vscode.CodeLens(range, { title: "$(graph) Show chart", command: "chartbridge.showChart", arguments: [args], tooltip: `Show ${args.series.join(", ")} in the Chartbridge chart` }));
      if (this.charts.isOpen) {
        const hidden = this.charts.hidden.has(site.series[0]);
        lenses.push(new vscode.CodeLens(range, { title: hidden ? "Show series" : "Hide series", command: "chartbridge.toggleSeries", arguments: [args] }));
      }
      for (const [key, ids] of instances) {
        const facts = ids.map((id) => this.facts.get(id)).find((f) => f !== undefined);
        if (facts !== undefined) lenses.push(new vscode.CodeLens(range, { title: key ? `${key}: ${describeFacts(facts)}` : describeFacts(facts), command: "" }));
      }
    }
    return lenses;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
