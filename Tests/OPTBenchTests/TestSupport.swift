import Foundation
@testable import OPTBench
import TestSupport

/// Paths of the committed fixtures and of the shared data beside the checkout.
enum Paths {
    static let packageRoot = RepositoryPaths.packageRoot

    static let tkFixtures = RepositoryPaths.fixtures("bench/tk_instruct")
    static let tokenizer = RepositoryPaths.fixtures("models/tiny-preln-safetensors-sharded")
    /// Real Super-NI task files (`../shared/data/niv2`), absent on some machines.
    static let niv2 = RepositoryPaths.sharedData("niv2")
    static var hasNIV2: Bool { FileManager.default.fileExists(atPath: niv2.appendingPathComponent("tasks").path) }
    /// Real BIG-bench tasks (`../shared/data/bigbench`), absent on some machines.
    static let bigbench = RepositoryPaths.sharedData("bigbench/benchmark_tasks")
    static var hasBigBench: Bool { FileManager.default.fileExists(atPath: bigbench.path) }
    /// PromptSource's templates (`../shared/data/promptsource`), absent on some machines.
    static let promptsource = RepositoryPaths.sharedData("promptsource/templates")
    static var hasPromptSource: Bool { FileManager.default.fileExists(atPath: promptsource.path) }
    /// BIG-Bench Hard's official test sets and prompts (`../shared/data/bbh`), absent on some machines.
    static let bbh = RepositoryPaths.sharedData("bbh")
    static var hasBBH: Bool { FileManager.default.fileExists(atPath: bbh.appendingPathComponent("cot-prompts").path) }
}

/// A fresh empty folder, removed with the others when the test process exits.
func temporaryFolder(_ name: String = #function) throws -> URL { try TemporaryFolders.make("optbench", name) }

/// Writes `text` as `name` into `folder` (creating subfolders) and returns its URL.
@discardableResult
func writeFile(_ text: String, _ name: String, in folder: URL) throws -> URL {
    let url = folder.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(text.utf8).write(to: url)
    return url
}

/// A synthetic task: `count` instances with inputs long enough for 13-grams.
func syntheticTask(_ id: String, category: String, source: String? = nil, count: Int = 20, benchmark: String = "niv2",
                   labels: [String]? = nil, languages: [String] = ["English"]) -> BenchTask {
    let instances = (0..<count).map { index in
        TaskInstance(id: "\(id)-\(index)",
                     // The task id every few words: no 13 words in a row are shared between two tasks.
                     input: "\(id) instance \(index) \(id) has words \(id) enough for \(id) several grams \(id) in the \(id) audit \(index) \(id)",
                     outputs: [labels.map { $0[index % $0.count] } ?? "answer \(index) of \(id)"])
    }
    return BenchTask(id: id, benchmark: benchmark, categories: [category], sources: [source ?? id],
                     definition: ["Do the \(id) task."],
                     positiveExamples: [TaskExample(input: "example input", output: labels?.first ?? "example output", explanation: "because")],
                     instances: instances, inputLanguages: languages, outputLanguages: languages, instructionLanguages: ["English"])
}
