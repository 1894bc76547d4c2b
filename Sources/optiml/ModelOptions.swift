import ArgumentParser
import Foundation
import OPTKernels
import OPTModel
import OPTSupport
import OPTTokenizer

/// `--threads`, the compute pool's size, for every subcommand that runs the kernels.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for the kernels (default: every core).")
    var threads: Int?

    func validate() throws {
        if let threads, !(1...ComputePool.maximumThreads).contains(threads) {
            throw ValidationError("--threads must be between 1 and \(ComputePool.maximumThreads), got \(threads)")
        }
    }
}

/// The `--model DIR` option shared by every subcommand that loads a checkpoint.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Hugging Face checkpoint directory (config.json, weights, tokenizer files).")
    var model: String

    @Option(help: "Weight format at run time (default: as stored; others convert at load).")
    var dtype: WeightFormat?

    @Option(help: ArgumentHelp(
        "The lm_head's format, apart from the token embedding's (default: as --dtype has it).",
        discussion: "int4 keeps the head in int8 for accuracy; --head-dtype int4 runs prefill's and scoring's logits on the int4 kernels (see `optiml accuracy --dtype int4-head4`)."))
    var headDtype: WeightFormat?

    @OptionGroup var threadOptions: ThreadOptions
    var threads: Int? { threadOptions.threads }

    @Flag(help: "bf16 weights: prefill on AVX512-BF16 with inputs rounded to bf16 (about 2× faster; logits move ~1e-2, so off by default).")
    var bf16Gemm = false

    var directory: URL { URL(fileURLWithPath: model, isDirectory: true) }

    func validate() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--model \(model): no such directory")
        }
    }

    func loadModel() throws -> OPTModel {
        KernelPath.useUnitGEMMs(bf16: bf16Gemm)
        do { return try OPTModel(directory: directory, format: dtype, headFormat: headDtype, threads: threads) } catch { throw CLIError(error) }
    }

    func loadGenerator() throws -> Generator {
        do {
            return Generator(model: try loadModel(), tokenizer: try BPETokenizer.load(directory: directory))
        } catch { throw CLIError(error) }
    }
}

/// Prints a library error as the one-line message it carries, not as a Swift dump.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    /// Foundation's file errors as "PATH: what the system said", anything else as it describes itself.
    init(_ error: Error) { description = FileProblem.describe(error) ?? "\(error)" }
    init(message: String) { description = message }
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

extension WeightFormat: ExpressibleByArgument {}

/// A weight format as `speed` and `accuracy` name one in their lists: a `WeightFormat`, or `int4-head4`, int4 with
/// the lm_head in int4 too (`--head-dtype int4`).
struct WeightChoice {
    let format: WeightFormat
    /// The lm_head's format where it differs from what `format` gives it.
    let headFormat: WeightFormat?

    static let int4Head4 = "int4-head4"
    /// The names, for help and errors.
    static let names = WeightFormat.allCases.map(\.rawValue).joined(separator: ", ") + " or \(int4Head4)"

    init(_ format: WeightFormat, headFormat: WeightFormat? = nil) {
        self.format = format
        self.headFormat = headFormat
    }

    init?(name: String) {
        if name == Self.int4Head4 {
            self.init(.int4, headFormat: .int4)
        } else if let format = WeightFormat(rawValue: name) {
            self.init(format)
        } else {
            return nil
        }
    }

    /// Its name in the lists (`int4-head4` is the one choice with a head format of its own).
    var name: String { headFormat == nil ? format.rawValue : Self.int4Head4 }
}
