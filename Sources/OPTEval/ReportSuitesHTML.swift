import Foundation

/// The suites' sections of the HTML page: the comparison table, with `compare` a chart of B − A per row, and every task.
extension Report {
    func suiteSectionsHTML() -> String {
        let e = Self.htmlEscape
        var out = "<h2>Suites</h2>\n"
        out += "<p class=\"caption\">Scores (%) ± standard error; <i>all</i> is the suite's score, then its categories and (for suites that average tasks) its tasks.</p>\n"
        out += suiteTableHTML()
        out += "<ul class=\"caption\">\n"
        for suite in suites { out += "<li><b>\(e(suite))</b>: \(e(Self.aggregationText(suiteAggregation(suite))))</li>\n" }
        out += "</ul>\n"
        if compare {
            out += "<h2>B − A by suite</h2>\n"
            out += "<p class=\"caption\">Each suite at each shot count (on a band), then its categories and tasks.</p>\n"
            out += "<div class=\"figure\">\n\(suiteDeltaChart())</div>\n"
        }
        out += "<h2>Tasks</h2>\n"
        out += suiteTaskTableHTML()
        return out
    }

    /// The label of a row in the HTML table.
    static func suiteRowHTML(_ row: SuiteRow) -> String {
        switch row.kind {
        case .suite: "all"
        case .category: htmlEscape(row.name)
        case .task: "<code>\(htmlEscape(row.name))</code>"
        }
    }

    static func scoreCell(_ score: SuiteScore?) -> String {
        guard let score else { return "<td class=\"num missing\">—</td>" }
        return "<td class=\"num\">\(format(score.score))" + (score.stderr.map { "<small> ± \(format($0))</small>" } ?? "") + "</td>"
    }

    func suiteTableHTML() -> String {
        let e = Self.htmlEscape
        var out = "<div class=\"scroll\"><table class=\"paper suites\">\n<thead><tr><th>suite</th><th class=\"num\">shots</th><th>group</th>"
        for (index, run) in runs.enumerated() { out += "<th class=\"num\">\(Self.swatch(index))\(e(run.label))</th>" }
        if compare { out += "<th class=\"num\">Δ B − A</th>" }
        out += "</tr></thead>\n<tbody>\n"
        for row in suiteRows {
            out += row.kind == .suite ? "<tr class=\"all\">" : "<tr>"
            out += "<td>\(e(row.suite))</td><td class=\"num\">\(row.shots)</td><td class=\"name\">\(Self.suiteRowHTML(row))</td>"
            for run in runs.indices { out += Self.scoreCell(suiteScore(run: run, row: row)) }
            if compare { out += Self.deltaCell(suiteDelta(row)) }
            out += "</tr>\n"
        }
        out += "</tbody>\n</table></div>\n"
        return out
    }

    /// Diverging bars of B − A: each suite at each shot count on a band, then its categories and tasks.
    func suiteDeltaChart() -> String {
        let rows = suiteRows.map { row in
            row.kind == .suite
                ? DeltaRow(label: "\(row.suite) · \(row.shots)-shot", value: suiteDelta(row), isLevel: true, tip: "\(row.suite), \(row.shots)-shot")
                : DeltaRow(label: row.name, value: suiteDelta(row), isLevel: false, tip: "\(row.suite), \(row.shots)-shot: \(row.name)")
        }
        return deltaChart(rows, label: "B − A (\(runs[1].label) minus \(runs[0].label)) by suite, shot count, category and task")
    }

    func suiteTaskTableHTML() -> String {
        let rows = taskRows.sorted { (suiteOf(task: $0.task) ?? "", $0.task, $0.shots) < (suiteOf(task: $1.task) ?? "", $1.task, $1.shots) }
        return taskTableHTML(rows, group: ("suite", "", { suiteOf(task: $0.task) ?? "" })) {
            Self.scoreCell($0.map { SuiteScore(score: $0.score, stderr: $0.stderr) })
        }
    }
}
