import ArgumentParser
import Foundation
import OPTModel

/// `optiml quantize`: store a checkpoint's matrices in another format.
struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a checkpoint's weight matrices to f16, bf16 or int8 and write it out (loads without re-converting).",
        discussion: "f16/bf16 outputs load in transformers; int8 outputs (I8 matrices with F32 per-row scales `<name>_scale`) are this tool's own.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Output directory.") var out: String

    func validate() throws {
        guard modelOptions.dtype != nil else { throw ValidationError("--dtype is required: f32, f16, bf16 or int8") }
    }

    func run() throws {
        let model = try modelOptions.loadModel()
        do {
            try CheckpointExport.write(model, companionsFrom: modelOptions.directory, to: URL(fileURLWithPath: out, isDirectory: true))
        } catch { throw CLIError(error) }
        print("wrote \(modelOptions.dtype?.rawValue ?? "") checkpoint to \(out)")
    }
}
