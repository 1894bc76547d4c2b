import ArgumentParser
import Foundation
import OPTEval

/// `optiml report`: the paper's tables and charts from evaluation runs, as Markdown and one HTML page.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write report.md and a self-contained report.html (tables, SVG charts) from optiml eval run folders.",
        discussion: """
        Each RUN_DIR is an optiml eval --out folder; its results.json is read (a path to a results file is read as it is). \
        The report holds a card per run, the levels × shot counts table (± bootstrap standard error), category bar charts, \
        score against shot count and every task's score. With --compare (exactly two runs, A then B, e.g. OPT then OPT-IML) \
        it adds the deltas B − A to the tables and a chart of them per level and category. \
        Runs of optiml eval --suite (mmlu, bbh, …) get the paper's comparison layout instead: a row per suite and shot count, \
        then its categories (MMLU's stem, humanities, …) and, for suites that average tasks, its tasks; a column per run \
        (score ± standard error, "—" where a run lacks the row) and with --compare B − A and a chart of it. \
        Suite runs and bench runs cannot share a report.
        """)

    @Argument(help: ArgumentHelp("Run folders written by optiml eval --out (A, then B with --compare).", valueName: "run-dir"))
    var runDirs: [String]
    @Flag(help: "Compare exactly two runs: B (the second) minus A (the first).") var compare = false
    @Option(help: "The folder for report.md and report.html (made if missing).") var out = "."

    func validate() throws {
        guard !runDirs.isEmpty else { throw ValidationError("give at least one run folder (the --out folder of optiml eval)") }
        if compare && runDirs.count != 2 {
            throw ValidationError("--compare needs exactly 2 run folders (A, then B), got \(runDirs.count)")
        }
        guard !out.isEmpty else { throw ValidationError("--out: empty path") }
    }

    func run() throws {
        try Self.write(runFolders: runDirs, compare: compare, out: out)
    }

    /// Writes the report through `Report` and prints where it went (the demo's report stage too).
    static func write(runFolders: [String], compare: Bool, out: String) throws {
        do {
            let report = try Report.load(runFolders: runFolders, compare: compare)
            let written = try report.write(to: URL(fileURLWithPath: out, isDirectory: true))
            print("wrote \(written.markdown.path) and \(written.html.path)")
        } catch { throw CLIError(error) }
    }
}
