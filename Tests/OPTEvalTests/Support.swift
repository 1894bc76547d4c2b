import Foundation
import OPTTokenizer
@testable import OPTEval
import TestSupport

/// Paths of the committed fixtures and of the shared data beside the checkout.
enum Paths {
    static let packageRoot = RepositoryPaths.packageRoot

    /// `Tests/Fixtures/eval`, made by tools/make_metric_fixtures.py.
    static let fixtures = RepositoryPaths.fixtures("eval")
    /// The GPT-2 vocab.json + merges.txt beside the checkout, absent on some machines.
    static let gpt2 = RepositoryPaths.sharedData("gpt2-tokenizer")
    static var hasGPT2: Bool {
        FileManager.default.fileExists(atPath: gpt2.appendingPathComponent("vocab.json").path)
            && FileManager.default.fileExists(atPath: gpt2.appendingPathComponent("merges.txt").path)
    }
}

/// One line of metric_pairs.jsonl / xlingual_pairs.jsonl.
struct MetricPair: Decodable, Sendable {
    var source: String
    var prediction: String
    var references: [String]
    var exact_match: Int
    var rougeL: Double
    var token_f1: Double?
}

/// porter_stems.json.
struct StemFixture: Decodable {
    var modes: [String]
    var words: [[String]]
}

enum Fixtures {
    static func jsonLines<T: Decodable>(_ name: String, as type: T.Type) throws -> [T] {
        let data = try Data(contentsOf: Paths.fixtures.appendingPathComponent(name))
        let decoder = JSONDecoder()
        return try data.split(separator: UInt8(ascii: "\n")).map { try decoder.decode(T.self, from: Data($0)) }
    }

    static func json<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: Paths.fixtures.appendingPathComponent(name)))
    }

    /// The GPT-2 tokenizer, loaded once.
    static let gpt2: BPETokenizer? = try? BPETokenizer.load(directory: Paths.gpt2)
}

/// A fresh empty folder, removed with the others when the test process exits.
func temporaryFolder(_ name: String = #function) throws -> URL { try TemporaryFolders.make("opteval", name) }

/// Writes `text` as `name` into `folder` and returns its URL.
@discardableResult
func writeFile(_ text: String, _ name: String, in folder: URL) throws -> URL {
    let url = folder.appendingPathComponent(name)
    try Data(text.utf8).write(to: url)
    return url
}

/// A short, printable rendering of a fixture string for failure messages.
func show(_ text: String) -> String {
    let escaped = text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 ? String($0) : "\\u{\(String($0.value, radix: 16))}" }.joined()
    return escaped.count > 120 ? String(escaped.prefix(120)) + "…" : escaped
}
