import Foundation
import TestSupport
@testable import OPTTokenizer

/// Where the parity fixtures live, and their decoded JSON.
enum Fixtures {
    static func tokenizerFolder() throws -> URL {
        RepositoryPaths.fixtures("tokenizer")
    }

    static func trainedDirectory() throws -> URL {
        try tokenizerFolder().appendingPathComponent("trained")
    }

    /// The real GPT-2 vocabulary, in the `shared` folder beside the package root.
    static func gpt2Directory() throws -> URL {
        RepositoryPaths.sharedData("gpt2-tokenizer")
    }

    /// Whether the real GPT-2 vocabulary is beside the checkout.
    static var hasGPT2Vocabulary: Bool {
        (try? gpt2Directory()).map { FileManager.default.fileExists(atPath: $0.appendingPathComponent("vocab.json").path) } ?? false
    }

    static func decode<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        let data = try Data(contentsOf: tokenizerFolder().appendingPathComponent(name))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(type, from: data)
    }

    /// A fresh empty folder under the system temporary directory.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("opt-tokenizer-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A temporary copy of the named files of `source`.
    static func copy(_ names: [String], from source: URL) throws -> URL {
        let target = try temporaryDirectory()
        for name in names {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: target.appendingPathComponent(name))
        }
        return target
    }
}

enum FixtureError: Error {
    case missing(String)
}

/// One test string and what Hugging Face makes of it.
struct EncodeCase: Decodable {
    var text: String
    var ids: [Int]
    var idsNoBos: [Int]?
    var decoded: String?
    var decodedSkipSpecial: String?
}

/// Ids and the text Hugging Face decodes them to.
struct DecodeCase: Decodable {
    var ids: [Int]
    var text: String
    var textSkipSpecial: String?
}

/// trained_cases.json and gpt2_cases.json.
struct CaseFile: Decodable {
    var bosId: Int?
    var eosId: Int?
    var padId: Int?
    var unkId: Int?
    var vocabSize: Int
    var cases: [EncodeCase]
    var decodeCases: [DecodeCase]?
    var cleanupCases: [DecodeCase]?
}

/// unicode_classes.json: [first, last, "L" | "N" | "S" | "O"] runs over all code points.
struct UnicodeClassFile: Decodable {
    enum Element: Decodable {
        case number(Int)
        case name(String)

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int.self) {
                self = .number(number)
            } else {
                self = .name(try container.decode(String.self))
            }
        }
    }

    var runs: [[Element]]
}

/// Scalar-by-scalar equality: Swift's `==` on String treats canonically equivalent text as equal,
/// which would hide a decomposed-versus-precomposed mismatch.
func sameScalars(_ left: String, _ right: String) -> Bool {
    left.unicodeScalars.elementsEqual(right.unicodeScalars)
}
