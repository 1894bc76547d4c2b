import Foundation
import OPTSupport
import OPTTokenizer

/// One evaluation as a program runs it (what `optiml eval` does once it has a backend): a model's answers
/// on a bench, through the results store in the output folder, exported beside it.
public enum Evaluation {
    /// The results store in an output folder.
    public static let storeFile = "results.sqlite"
    /// Every sample of the run, one JSON object a line.
    public static let samplesFile = "samples.jsonl"
    /// The aggregated results (what `Report` reads).
    public static let resultsFile = "results.json"

    /// Evaluates `backend` on the bench at `bench` with `settings`, recording the run under `modelName`, and
    /// writes `out`/results.sqlite (reused by a repeated or interrupted run), samples.jsonl and results.json.
    /// `progress` is called with (requests done, requests in all) as answers come.
    public static func run(bench: URL, backend: any EvalBackend, tokenizer: BPETokenizer, modelName: String, settings: EvalSettings,
                           out: URL, progress: @escaping (Int, Int) -> Void = { _, _ in }) async throws -> EvalOutcome {
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let store = try ResultsStore(path: out.appendingPathComponent(storeFile))
        var runner = EvalRunner(bench: bench, backend: backend, store: store, settings: settings, tokenizer: tokenizer)
        runner.progress = progress
        let outcome = try await runner.run(modelName: modelName)
        try store.exportSamples(runID: outcome.runID, to: out.appendingPathComponent(samplesFile))
        if let results = try store.runs().first(where: { $0.id == outcome.runID })?.resultsJSON {
            try AtomicFile.write(Data(results.utf8), to: out.appendingPathComponent(resultsFile))
        }
        return outcome
    }
}
