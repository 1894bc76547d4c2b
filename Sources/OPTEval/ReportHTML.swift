import Foundation

/// The report as one self-contained HTML page: inline CSS, inline SVG charts, no scripts, nothing
/// fetched. Every name is HTML-escaped; the same report gives the same bytes.
extension Report {
    /// Series colours (colour-blind-safe, in run order); deltas are green (B better) or red.
    static let palette = ["#4c72b0", "#dd8452", "#55a868", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd"]
    static let positiveColor = "#2e7d32"
    static let negativeColor = "#c62828"

    static func color(_ run: Int) -> String { palette[run % palette.count] }

    /// `&`, `<`, `>`, `"` and `'` as entities.
    public static func htmlEscape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// The number of `<svg>` charts `html()` draws: a category chart and a shots chart per level, and
    /// the deltas chart with `compare`; for suite runs only the deltas chart.
    public var chartCount: Int { (isSuiteReport ? 0 : 2 * levels.count) + (compare ? 1 : 0) }

    public func html() -> String {
        let e = Self.htmlEscape
        var out = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>OPT-IML evaluation report: \(e(runs.map(\.label).joined(separator: " vs ")))</title>
        <style>
        \(Self.css)
        </style>
        </head>
        <body>
        <main>
        <h1>OPT-IML evaluation report</h1>

        """
        out += compare
            ? "<p class=\"lead\">Comparing <b>B</b> = \(e(runs[1].label)) against <b>A</b> = \(e(runs[0].label)). Deltas are B − A in points: <span class=\"pos\">green</span> where B scores higher, <span class=\"neg\">red</span> where lower.</p>\n"
            : isSuiteReport ? "<p class=\"lead\">Scores are percentages, aggregated over instances as lm-evaluation-harness does.</p>\n"
            : "<p class=\"lead\">Scores are percentages: instances → task → category, and a level is the mean of its categories.</p>\n"

        // Runs.
        out += "<section class=\"cards\">\n"
        for (index, run) in runs.enumerated() {
            let results = run.results
            out += "<div class=\"card\" style=\"--c:\(Self.color(index))\">\n"
            out += "<h3><span class=\"tag\">\(runTag(index))</span>\(e(run.label))</h3>\n<dl>\n"
            out += "<dt>model</dt><dd><code>\(e(results.model))</code></dd>\n"
            out += "<dt>bench</dt><dd><code title=\"\(e(results.benchHash))\">\(e(Self.benchPrefix(results.benchHash)))</code></dd>\n"
            out += "<dt>settings</dt><dd>\(e(Self.settingsSummary(results.settings)))</dd>\n"
            out += "<dt>results</dt><dd><code>\(e(run.path))</code> · \(taskCount(run: index)) tasks</dd>\n"
            out += "</dl>\n</div>\n"
        }
        out += "</section>\n"
        if isSuiteReport {
            if suiteBenchesDiffer {
                out += "<p class=\"note\"><b>Note:</b> runs of one suite were evaluated on different benches; their scores may not be comparable.</p>\n"
            }
            out += suiteSectionsHTML()
            out += "</main>\n</body>\n</html>\n"
            return out
        }
        if benchesDiffer {
            out += "<p class=\"note\"><b>Note:</b> the runs were evaluated on different benches; their scores may not be comparable.</p>\n"
        }

        // The paper's table.
        out += "<h2>Scores by level</h2>\n"
        out += "<p class=\"caption\">Mean of category scores (%) ± bootstrap standard error; <i>all</i> is the mean over shot counts.</p>\n"
        out += levelTableHTML()

        if compare {
            out += "<h2>B − A by level and category</h2>\n"
            out += "<p class=\"caption\">Summary scores: the mean over each level's shot counts (or its only one).</p>\n"
            out += "<div class=\"figure\">\n\(deltaChart())</div>\n"
        }

        out += "<h2>Categories</h2>\n"
        for level in levels {
            out += "<h3>\(e(Self.levelTitle(level)))</h3>\n"
            out += "<p class=\"caption\">Category scores (%), \(e(summaryCaption(level: level))).</p>\n"
            out += "<div class=\"figure\">\n\(categoryChart(level: level))</div>\n"
            out += categoryTableHTML(level: level)
        }

        out += "<h2>Score against shot count</h2>\n"
        for level in levels {
            out += "<h3>\(e(Self.levelTitle(level)))</h3>\n"
            out += "<div class=\"figure\">\n\(shotsChart(level: level))</div>\n"
        }

        out += "<h2>Tasks</h2>\n"
        out += taskTableHTML()
        out += "</main>\n</body>\n</html>\n"
        return out
    }

    // MARK: Tables

    func levelTableHTML() -> String {
        let e = Self.htmlEscape
        var out = "<div class=\"scroll\"><table class=\"paper\">\n<thead><tr><th>level</th><th>shots</th>"
        for (index, run) in runs.enumerated() { out += "<th class=\"num\">\(Self.swatch(index))\(e(run.label))</th>" }
        if compare { out += "<th class=\"num\">Δ B − A</th>" }
        out += "</tr></thead>\n<tbody>\n"
        for level in levels {
            let rows = levelShotRows(level)
            for (position, shots) in rows.enumerated() {
                out += shots == nil ? "<tr class=\"all\">" : "<tr>"
                if position == 0 {
                    out += "<th scope=\"row\" rowspan=\"\(rows.count)\" class=\"level\">Level \(level)<span>\(e(Self.levelName(level)))</span></th>"
                }
                out += "<td>\(shots.map { "\($0)-shot" } ?? "all")</td>"
                for run in runs.indices {
                    if let group = levelResult(run: run, level: level, shots: shots) {
                        out += "<td class=\"num\">\(Self.format(group.score))"
                        if let stderr = group.stderr { out += "<small> ± \(Self.format(stderr))</small>" }
                        out += "</td>"
                    } else {
                        out += "<td class=\"num missing\">—</td>"
                    }
                }
                if compare { out += Self.deltaCell(levelDelta(level: level, shots: shots)) }
                out += "</tr>\n"
            }
        }
        out += "</tbody>\n</table></div>\n"
        return out
    }

    func categoryTableHTML(level: Int) -> String {
        let e = Self.htmlEscape
        let categories = categories(level: level)
        guard !categories.isEmpty else { return "" }
        let shots = shotCounts(level: level)
        let summary = shots.count > 1
        let span = shots.count + (summary ? 1 : 0)
        var out = "<div class=\"scroll\"><table class=\"categories\">\n<thead><tr><th rowspan=\"2\">category</th><th rowspan=\"2\" class=\"num\">tasks</th>"
        for (index, run) in runs.enumerated() {
            out += "<th colspan=\"\(span)\" class=\"run\">\(Self.swatch(index))\(e(run.label))</th>"
        }
        if compare { out += "<th rowspan=\"2\" class=\"num\">Δ B − A</th>" }
        out += "</tr>\n<tr>"
        for _ in runs {
            for count in shots { out += "<th class=\"num sub\">\(count)-shot</th>" }
            if summary { out += "<th class=\"num sub\">mean</th>" }
        }
        out += "</tr></thead>\n<tbody>\n"
        for category in categories {
            out += "<tr><td class=\"name\">\(e(category))</td><td class=\"num\">\(categoryTasks(level: level, category: category).map(String.init) ?? "—")</td>"
            for run in runs.indices {
                for count in shots {
                    out += Self.numberCell(categoryResult(run: run, level: level, category: category, shots: count)?.score)
                }
                if summary { out += Self.numberCell(categorySummary(run: run, level: level, category: category), bold: true) }
            }
            if compare { out += Self.deltaCell(categoryDelta(level: level, category: category)) }
            out += "</tr>\n"
        }
        out += "</tbody>\n</table></div>\n"
        return out
    }

    func taskTableHTML() -> String {
        taskTableHTML(taskRows, group: ("level", "num", { String($0.level) })) { Self.numberCell($0?.score) }
    }

    /// The collapsible task table: task, a grouping column (level or suite; its CSS class and escaped text), shots
    /// and metric, then each run's score cell and instances, and with `compare` B − A.
    func taskTableHTML(_ rows: [TaskRow], group: (title: String, cssClass: String, value: (TaskRow) -> String),
                       scoreCell: (TaskResult?) -> String) -> String {
        let e = Self.htmlEscape
        let groupClass = group.cssClass.isEmpty ? "" : " class=\"\(group.cssClass)\""
        var out = "<details>\n<summary>\(rows.count) task results (task × shot count)</summary>\n"
        out += "<div class=\"scroll\"><table class=\"tasks\">\n<thead><tr><th rowspan=\"2\">task</th><th rowspan=\"2\"\(groupClass)>\(group.title)</th>"
        out += "<th rowspan=\"2\" class=\"num\">shots</th><th rowspan=\"2\">metric</th>"
        for (index, run) in runs.enumerated() { out += "<th colspan=\"2\" class=\"run\">\(Self.swatch(index))\(e(run.label))</th>" }
        if compare { out += "<th rowspan=\"2\" class=\"num\">Δ B − A</th>" }
        out += "</tr>\n<tr>"
        for _ in runs { out += "<th class=\"num sub\">score</th><th class=\"num sub\">n</th>" }
        out += "</tr></thead>\n<tbody>\n"
        for row in rows {
            out += "<tr><td><code>\(e(row.task))</code></td><td\(groupClass)>\(e(group.value(row)))</td><td class=\"num\">\(row.shots)</td>"
            out += "<td>\(e(row.primaryMetric))</td>"
            for run in runs.indices {
                let result = taskResult(run: run, task: row.task, shots: row.shots)
                out += scoreCell(result)
                out += result.map { "<td class=\"num\">\($0.instances)</td>" } ?? "<td class=\"num missing\">—</td>"
            }
            if compare {
                out += Self.deltaCell(Self.delta(taskResult(run: 0, task: row.task, shots: row.shots)?.score,
                                                 taskResult(run: 1, task: row.task, shots: row.shots)?.score))
            }
            out += "</tr>\n"
        }
        out += "</tbody>\n</table></div>\n</details>\n"
        return out
    }

    static func swatch(_ run: Int) -> String { "<span class=\"sw\" style=\"background:\(color(run))\"></span>" }

    static func numberCell(_ value: Double?, bold: Bool = false) -> String {
        guard let value else { return "<td class=\"num missing\">—</td>" }
        return bold ? "<td class=\"num\"><b>\(format(value))</b></td>" : "<td class=\"num\">\(format(value))</td>"
    }

    static func deltaCell(_ value: Double?) -> String {
        guard let value else { return "<td class=\"num missing\">—</td>" }
        let text = signed(value)
        let kind = text == "0.0" ? "zero" : value > 0 ? "pos" : "neg"
        return "<td class=\"num \(kind)\">\(text)</td>"
    }

    // MARK: Charts

    static let chartWidth = 960.0
    /// Average glyph width of the 12px chart text, for layout.
    static let glyph = 6.6
    /// A generous width per character for labels that must not be cut or run into the plot.
    static let labelGlyph = 7.1

    /// A coordinate: one decimal, "-0.0" as "0".
    static func c(_ value: Double) -> String {
        let text = String(format: "%.1f", value)
        return text.hasSuffix(".0") ? (text == "-0.0" ? "0" : String(text.dropLast(2))) : text
    }

    /// "Nice" axis: a maximum at or above `value` and a step giving about `target` ticks.
    static func niceAxis(_ value: Double, target: Double = 5) -> (max: Double, step: Double) {
        let top = max(value, 1)
        let raw = top / target
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let normalized = raw / magnitude
        let nice: Double = normalized <= 1 ? 1 : normalized <= 2 ? 2 : normalized <= 2.5 ? 2.5 : normalized <= 5 ? 5 : 10
        let step = nice * magnitude
        return ((top / step).rounded(.up) * step, step)
    }

    static func tickText(_ value: Double, step: Double) -> String {
        step.rounded() == step ? String(format: "%.0f", value) : String(format: "%.1f", value)
    }

    /// `text` cut to `limit` characters with an ellipsis.
    static func clip(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(max(limit - 1, 1))) + "…"
    }

    static func svgOpen(height: Double, label: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(c(chartWidth))\" height=\"\(c(height))\" viewBox=\"0 0 \(c(chartWidth)) \(c(height))\" role=\"img\" aria-label=\"\(htmlEscape(label))\">\n<title>\(htmlEscape(label))</title>\n"
    }

    /// A row of coloured squares with the runs' labels, from `x` at `y`.
    func legend(x: Double, y: Double) -> String {
        var out = "<g class=\"legend\">"
        var cursor = x
        for (index, run) in runs.enumerated() {
            let text = Self.clip(run.label, 40)
            out += "<rect x=\"\(Self.c(cursor))\" y=\"\(Self.c(y - 10))\" width=\"12\" height=\"12\" rx=\"2\" fill=\"\(Self.color(index))\"/>"
            out += "<text x=\"\(Self.c(cursor + 17))\" y=\"\(Self.c(y))\">\(Self.htmlEscape(text))</text>"
            cursor += 17 + Double(text.count) * Self.glyph + 22
        }
        return out + "</g>\n"
    }

    /// Width of the label column for these labels.
    static func labelColumn(_ labels: [String]) -> (width: Double, limit: Int) {
        let longest = labels.map(\.count).max() ?? 0
        let limit = min(longest, 44)
        return (max(Double(limit) * labelGlyph + 14, 90), limit)
    }

    /// Grouped horizontal bars: a category a row, a bar per run, 0 … a nice maximum.
    func categoryChart(level: Int) -> String {
        let e = Self.htmlEscape, c = Self.c
        let categories = categories(level: level)
        let values = categories.map { category in runs.indices.map { categorySummary(run: $0, level: level, category: category) } }
        let (labelWidth, limit) = Self.labelColumn(categories)
        let x0 = labelWidth + 6, x1 = Self.chartWidth - 56
        let (top, step) = Self.niceAxis(values.flatMap { $0.compactMap { $0 } }.max() ?? 0)
        let bar = 15.0, barGap = 2.0, groupGap = 12.0
        let groupHeight = Double(runs.count) * bar + Double(runs.count - 1) * barGap
        let plotTop = 34.0
        let plotHeight = max(Double(categories.count) * (groupHeight + groupGap), groupHeight + groupGap)
        let height = plotTop + plotHeight + 44
        func x(_ value: Double) -> Double { x0 + (x1 - x0) * min(max(value, 0), top) / top }

        var out = Self.svgOpen(height: height, label: "\(Self.levelTitle(level)): category scores, \(summaryCaption(level: level))")
        out += legend(x: x0, y: 18)
        // Grid and axis.
        out += "<g class=\"grid\">"
        var tick = 0.0
        while tick <= top + step / 2 {
            out += "<line x1=\"\(c(x(tick)))\" y1=\"\(c(plotTop - 4))\" x2=\"\(c(x(tick)))\" y2=\"\(c(plotTop + plotHeight))\"/>"
            tick += step
        }
        out += "</g>\n<g class=\"axis\">"
        tick = 0
        while tick <= top + step / 2 {
            out += "<text x=\"\(c(x(tick)))\" y=\"\(c(plotTop + plotHeight + 16))\" text-anchor=\"middle\">\(Self.tickText(tick, step: step))</text>"
            tick += step
        }
        out += "<text class=\"title\" x=\"\(c((x0 + x1) / 2))\" y=\"\(c(plotTop + plotHeight + 36))\" text-anchor=\"middle\">score (%)</text>"
        out += "<line class=\"base\" x1=\"\(c(x0))\" y1=\"\(c(plotTop - 4))\" x2=\"\(c(x0))\" y2=\"\(c(plotTop + plotHeight))\"/></g>\n"
        if categories.isEmpty {
            out += "<text class=\"muted\" x=\"\(c(x0 + 8))\" y=\"\(c(plotTop + 18))\">no category scores</text>\n"
        }
        for (row, category) in categories.enumerated() {
            let y = plotTop + Double(row) * (groupHeight + groupGap) + groupGap / 2
            out += "<g><title>\(e(category))</title>"
            out += "<text class=\"label\" x=\"\(c(labelWidth))\" y=\"\(c(y + groupHeight / 2))\" dy=\"0.35em\" text-anchor=\"end\">\(e(Self.clip(category, limit)))</text>"
            for run in runs.indices {
                let barY = y + Double(run) * (bar + barGap)
                guard let value = values[row][run] else {
                    out += "<text class=\"value muted\" x=\"\(c(x0 + 4))\" y=\"\(c(barY + bar / 2))\" dy=\"0.35em\">n/a</text>"
                    continue
                }
                let width = max(x(value) - x0, value > 0 ? 1 : 0)
                out += "<rect x=\"\(c(x0))\" y=\"\(c(barY))\" width=\"\(c(width))\" height=\"\(c(bar))\" fill=\"\(Self.color(run))\"><title>\(e(runs[run].label)): \(Self.format(value))</title></rect>"
                out += "<text class=\"value\" x=\"\(c(x0 + width + 4))\" y=\"\(c(barY + bar / 2))\" dy=\"0.35em\">\(Self.format(value))</text>"
            }
            out += "</g>\n"
        }
        out += "</svg>\n"
        return out
    }

    /// Diverging bars of B − A: each level's summary (on a band), then its categories.
    func deltaChart() -> String {
        var rows: [DeltaRow] = []
        for level in levels {
            rows.append(DeltaRow(label: "Level \(level) · \(Self.levelName(level))", value: levelSummaryDelta(level: level), isLevel: true,
                                 tip: Self.levelTitle(level)))
            for category in categories(level: level) {
                rows.append(DeltaRow(label: category, value: categoryDelta(level: level, category: category), isLevel: false,
                                     tip: "\(Self.levelTitle(level)): \(category)"))
            }
        }
        return deltaChart(rows, label: "B − A (\(runs[1].label) minus \(runs[0].label)) by level and category")
    }

    /// One bar of a deltas chart; a heading row (`isLevel`) sits on a band.
    struct DeltaRow { var label: String; var value: Double?; var isLevel: Bool; var tip: String }

    /// Diverging bars of B − A, a row each.
    func deltaChart(_ rows: [DeltaRow], label: String) -> String {
        let e = Self.htmlEscape, c = Self.c
        let (labelWidth, limit) = Self.labelColumn(rows.map(\.label))
        let x0 = labelWidth + 52, x1 = Self.chartWidth - 52
        let middle = (x0 + x1) / 2
        let (top, step) = Self.niceAxis(rows.compactMap { $0.value.map(abs) }.max() ?? 0, target: 3)
        let rowHeight = 22.0, plotTop = 30.0
        let plotHeight = Double(max(rows.count, 1)) * rowHeight
        let height = plotTop + plotHeight + 44
        func x(_ value: Double) -> Double { middle + (x1 - middle) * min(max(value, -top), top) / top }

        var out = Self.svgOpen(height: height, label: label)
        out += "<g class=\"legend\"><rect x=\"\(c(x0))\" y=\"8\" width=\"12\" height=\"12\" rx=\"2\" fill=\"\(Self.positiveColor)\"/>"
        let better = "B (\(Self.clip(runs[1].label, 30))) higher than A (\(Self.clip(runs[0].label, 30)))"
        out += "<text x=\"\(c(x0 + 17))\" y=\"18\">\(e(better))</text>"
        let lowerX = x0 + 17 + Double(better.count) * Self.glyph + 22
        out += "<rect x=\"\(c(lowerX))\" y=\"8\" width=\"12\" height=\"12\" rx=\"2\" fill=\"\(Self.negativeColor)\"/>"
        out += "<text x=\"\(c(lowerX + 17))\" y=\"18\">B lower than A</text></g>\n"
        for (index, row) in rows.enumerated() where row.isLevel {
            out += "<rect class=\"band\" x=\"0\" y=\"\(c(plotTop + Double(index) * rowHeight))\" width=\"\(c(Self.chartWidth))\" height=\"\(c(rowHeight))\"/>"
        }
        out += "\n<g class=\"grid\">"
        var tick = -top
        while tick <= top + step / 2 {
            out += "<line x1=\"\(c(x(tick)))\" y1=\"\(c(plotTop))\" x2=\"\(c(x(tick)))\" y2=\"\(c(plotTop + plotHeight))\"/>"
            tick += step
        }
        out += "</g>\n<g class=\"axis\">"
        tick = -top
        while tick <= top + step / 2 {
            let text = tick.magnitude < step / 2 ? "0" : (tick > 0 ? "+" : "−") + Self.tickText(tick.magnitude, step: step)
            out += "<text x=\"\(c(x(tick)))\" y=\"\(c(plotTop + plotHeight + 16))\" text-anchor=\"middle\">\(text)</text>"
            tick += step
        }
        out += "<text class=\"title\" x=\"\(c(middle))\" y=\"\(c(plotTop + plotHeight + 36))\" text-anchor=\"middle\">B − A (points)</text>"
        out += "<line class=\"base\" x1=\"\(c(middle))\" y1=\"\(c(plotTop))\" x2=\"\(c(middle))\" y2=\"\(c(plotTop + plotHeight))\"/></g>\n"
        for (index, row) in rows.enumerated() {
            let y = plotTop + Double(index) * rowHeight
            let center = y + rowHeight / 2
            out += "<g><title>\(e(row.tip))</title>"
            out += "<text class=\"\(row.isLevel ? "label strong" : "label")\" x=\"\(c(labelWidth))\" y=\"\(c(center))\" dy=\"0.35em\" text-anchor=\"end\">\(e(Self.clip(row.label, limit)))</text>"
            if let value = row.value {
                let text = Self.signed(value)
                let end = x(value)
                let color = text == "0.0" ? "#8c8c8c" : value > 0 ? Self.positiveColor : Self.negativeColor
                let left = min(end, middle), width = max(abs(end - middle), text == "0.0" ? 0 : 1)
                out += "<rect class=\"\(value > 0 ? "pos" : value < 0 ? "neg" : "zero")\" x=\"\(c(left))\" y=\"\(c(y + 4))\" width=\"\(c(width))\" height=\"\(c(rowHeight - 8))\" fill=\"\(color)\"/>"
                if value < 0 {
                    out += "<text class=\"value\" x=\"\(c(left - 4))\" y=\"\(c(center))\" dy=\"0.35em\" text-anchor=\"end\">\(text)</text>"
                } else {
                    out += "<text class=\"value\" x=\"\(c(left + width + 4))\" y=\"\(c(center))\" dy=\"0.35em\">\(text)</text>"
                }
            } else {
                out += "<text class=\"value muted\" x=\"\(c(middle + 4))\" y=\"\(c(center))\" dy=\"0.35em\">n/a</text>"
            }
            out += "</g>\n"
        }
        out += "</svg>\n"
        return out
    }

    /// Score against shot count: a line per run, whiskers of ± one standard error.
    func shotsChart(level: Int) -> String {
        let e = Self.htmlEscape, c = Self.c
        let shots = shotCounts(level: level)
        let points = runs.indices.map { run in shots.map { levelResult(run: run, level: level, shots: $0) } }
        let highest = points.flatMap { $0.compactMap { $0.map { $0.score + ($0.stderr ?? 0) } } }.max() ?? 0
        let (top, step) = Self.niceAxis(highest)
        let x0 = 64.0, x1 = Self.chartWidth - 32, plotTop = 44.0, plotHeight = 220.0
        let height = plotTop + plotHeight + 52
        let inset = 56.0
        func x(_ index: Int) -> Double {
            shots.count <= 1 ? (x0 + x1) / 2 : x0 + inset + (x1 - x0 - 2 * inset) * Double(index) / Double(shots.count - 1)
        }
        // Runs' points at one shot count sit a little apart, so their error bars do not cover each other.
        func dodge(_ run: Int) -> Double { (Double(run) - Double(runs.count - 1) / 2) * 6 }
        func y(_ value: Double) -> Double { plotTop + plotHeight - plotHeight * min(max(value, 0), top) / top }

        var out = Self.svgOpen(height: height, label: "\(Self.levelTitle(level)): score against shot count")
        out += legend(x: x0, y: 18)
        out += "<g class=\"grid\">"
        var tick = 0.0
        while tick <= top + step / 2 {
            out += "<line x1=\"\(c(x0))\" y1=\"\(c(y(tick)))\" x2=\"\(c(x1))\" y2=\"\(c(y(tick)))\"/>"
            tick += step
        }
        out += "</g>\n<g class=\"axis\">"
        tick = 0
        while tick <= top + step / 2 {
            out += "<text x=\"\(c(x0 - 8))\" y=\"\(c(y(tick)))\" dy=\"0.35em\" text-anchor=\"end\">\(Self.tickText(tick, step: step))</text>"
            tick += step
        }
        for (index, count) in shots.enumerated() {
            out += "<text x=\"\(c(x(index)))\" y=\"\(c(plotTop + plotHeight + 18))\" text-anchor=\"middle\">\(count)-shot</text>"
        }
        out += "<text class=\"title\" x=\"\(c((x0 + x1) / 2))\" y=\"\(c(plotTop + plotHeight + 42))\" text-anchor=\"middle\">demonstrations per prompt (k)</text>"
        out += "<text class=\"title\" x=\"\(c(x0 - 8))\" y=\"\(c(plotTop - 12))\" text-anchor=\"end\">score (%)</text>"
        out += "<line class=\"base\" x1=\"\(c(x0))\" y1=\"\(c(plotTop + plotHeight))\" x2=\"\(c(x1))\" y2=\"\(c(plotTop + plotHeight))\"/></g>\n"
        if shots.isEmpty {
            out += "<text class=\"muted\" x=\"\(c(x0 + 8))\" y=\"\(c(plotTop + 18))\">no scores</text>\n"
        }
        // Value labels: left of the first shot count, right of the others, pushed apart vertically.
        var labelY: [[Double?]] = points.map { $0.map { $0.map { y($0.score) } } }
        for index in shots.indices {
            var placed = runs.indices.compactMap { run in labelY[run][index].map { (run: run, y: $0) } }.sorted { ($0.y, $0.run) < ($1.y, $1.run) }
            for position in placed.indices {
                var value = max(placed[position].y, plotTop + 6)
                if position > 0 { value = max(value, placed[position - 1].y + 14) }
                placed[position].y = value
            }
            // Keep the lowest inside the plot, shifting the column up.
            if let last = placed.last, last.y > plotTop + plotHeight - 6 {
                let shift = last.y - (plotTop + plotHeight - 6)
                for position in placed.indices { placed[position].y -= shift }
            }
            for item in placed { labelY[item.run][index] = item.y }
        }
        for run in runs.indices {
            let color = Self.color(run)
            out += "<g><title>\(e(runs[run].label))</title>"
            // The line joins consecutive known points.
            var segment: [String] = []
            func flush() {
                if segment.count > 1 { out += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2.5\" points=\"\(segment.joined(separator: " "))\"/>" }
                segment = []
            }
            for (index, point) in points[run].enumerated() {
                if let point { segment.append("\(c(x(index) + dodge(run))),\(c(y(point.score)))") } else { flush() }
            }
            flush()
            for (index, point) in points[run].enumerated() {
                guard let point else { continue }
                let px = x(index) + dodge(run), py = y(point.score)
                if let stderr = point.stderr, stderr > 0 {
                    let low = y(point.score - stderr), high = y(point.score + stderr)
                    out += "<path stroke=\"\(color)\" stroke-width=\"1.5\" d=\"M\(c(px)) \(c(low))V\(c(high))M\(c(px - 5)) \(c(low))h10M\(c(px - 5)) \(c(high))h10\"/>"
                }
                out += "<circle cx=\"\(c(px))\" cy=\"\(c(py))\" r=\"4.5\" fill=\"\(color)\" stroke=\"#fff\" stroke-width=\"1.5\"><title>\(e(runs[run].label)), \(shots[index])-shot: \(Self.scoreText(point))</title></circle>"
                let left = index == 0 && shots.count > 1
                out += "<text class=\"value strong\" x=\"\(c(x(index) + (left ? -1 : 1) * (10 + dodge(runs.count - 1))))\" y=\"\(c(labelY[run][index] ?? py))\" dy=\"0.35em\" text-anchor=\"\(left ? "end" : "start")\" style=\"fill:\(color)\">\(Self.format(point.score))</text>"
            }
            out += "</g>\n"
        }
        out += "</svg>\n"
        return out
    }

    static let css = """
    :root { color-scheme: light; }
    * { box-sizing: border-box; }
    body { margin: 0; background: #f5f6f8; color: #1f2430; font: 15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "DejaVu Sans", sans-serif; }
    main { max-width: 1040px; margin: 0 auto; padding: 28px 24px 64px; }
    h1 { font-size: 26px; margin: 0 0 6px; }
    h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 6px; border-bottom: 1px solid #dadee5; }
    h3 { font-size: 16px; margin: 22px 0 6px; }
    .lead { color: #4a5263; margin: 0 0 18px; }
    .caption { color: #5b6475; font-size: 13.5px; margin: 0 0 8px; }
    .note { background: #fff7df; border: 1px solid #edd48a; border-radius: 6px; padding: 8px 12px; }
    code { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; }
    .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 14px; }
    .card { background: #fff; border: 1px solid #dadee5; border-top: 4px solid var(--c); border-radius: 8px; padding: 12px 16px; }
    .card h3 { margin: 0 0 8px; font-size: 17px; }
    .card dl { display: grid; grid-template-columns: max-content 1fr; gap: 3px 12px; margin: 0; font-size: 13.5px; }
    .card dt { color: #5b6475; }
    .card dd { margin: 0; overflow-wrap: anywhere; }
    .tag { display: inline-block; min-width: 22px; padding: 0 6px; margin-right: 8px; border-radius: 4px; background: var(--c); color: #fff; font-size: 13px; text-align: center; }
    .scroll { overflow-x: auto; }
    table { border-collapse: collapse; background: #fff; border: 1px solid #dadee5; font-size: 14px; margin: 6px 0 18px; }
    th, td { padding: 6px 12px; border-bottom: 1px solid #eceef2; text-align: left; vertical-align: top; }
    thead th { background: #eef0f4; font-weight: 600; vertical-align: bottom; }
    th small, td small { color: #6b7385; font-weight: normal; }
    th.run { text-align: center; border-left: 1px solid #dadee5; }
    th.sub { font-weight: normal; font-size: 12.5px; color: #5b6475; }
    td.name { white-space: nowrap; }
    .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
    .missing { color: #9aa1ad; }
    table.paper th.level { background: #f7f8fa; border-right: 1px solid #eceef2; white-space: nowrap; }
    table.paper th.level span { display: block; font-weight: normal; font-size: 12.5px; color: #5b6475; }
    table.paper tr.all td { background: #f7f8fa; font-weight: 600; }
    table.paper tr.all td small { font-weight: normal; }
    .pos { color: #2e7d32; font-weight: 600; }
    .neg { color: #c62828; font-weight: 600; }
    .zero { color: #6b7385; }
    .sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
    .figure { background: #fff; border: 1px solid #dadee5; border-radius: 8px; padding: 10px 12px; margin: 6px 0 14px; overflow-x: auto; }
    svg { display: block; width: 100%; max-width: 960px; height: auto; }
    svg text { font-family: inherit; font-size: 12px; fill: #1f2430; }
    svg .axis text { fill: #5b6475; }
    svg .axis text.title { fill: #1f2430; font-size: 12.5px; }
    svg .grid line { stroke: #e6e9ee; stroke-width: 1; }
    svg line.base { stroke: #8a93a3; stroke-width: 1.2; }
    svg .band { fill: #f1f3f6; }
    svg text.strong { font-weight: 600; }
    svg text.value { font-size: 11.5px; font-variant-numeric: tabular-nums; }
    svg text.muted { fill: #9aa1ad; }
    details { background: #fff; border: 1px solid #dadee5; border-radius: 8px; padding: 10px 14px; }
    details summary { cursor: pointer; font-weight: 600; }
    details table { margin-top: 10px; }
    table.tasks td, table.tasks th { padding: 4px 10px; font-size: 13px; }
    """
}
