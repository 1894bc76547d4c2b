import ArgumentParser
import Foundation
import OPTModel

/// `optiml quantize`: store a checkpoint's matrices in another format.
struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a checkpoint's weight matrices to f16, bf16, int8 or int4 and write it out (loads without re-converting).",
        discussion: "f16/bf16 outputs load in transformers; int8 outputs (I8 matrices with F32 per-row scales `<name>_scale`) and int4 outputs (U8 matrices of two values a byte with F16 scales per 32 columns `<name>_group_scale`) are this tool's own.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Output directory.") var out: String

    func validate() throws {
        guard modelOptions.dtype != nil else { throw ValidationError("--dtype is required: f32, f16, bf16, int8 or int4") }
    }

    func run() throws {
        let model = try modelOptions.loadModel()
        do {
            try CheckpointExport.write(model, companionsFrom: modelOptions.directory, to: URL(fileURLWithPath: out, isDirectory: true))
        } catch { throw CLIError(error) }
        print("wrote \(modelOptions.dtype?.rawValue ?? "") checkpoint to \(out)")
    }
}
