import ArgumentParser
import Foundation
import OPTModel

/// The `--model DIR` option shared by every subcommand that loads a checkpoint.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Hugging Face checkpoint directory (config.json, weights, tokenizer files).")
    var model: String

    var directory: URL { URL(fileURLWithPath: model, isDirectory: true) }

    func validate() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--model \(model): no such directory")
        }
    }

    func loadGenerator() throws -> Generator {
        do { return try Generator(directory: directory) } catch { throw CLIError(error) }
    }
}

/// Prints a library error as the one-line message it carries, not as a Swift dump.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ error: Error) { description = "\(error)" }
}

/// Prints a JSON value on one line, keys sorted, so output is stable for scripts.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Writes text to standard output at once (for streaming).
func writeNow(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}
