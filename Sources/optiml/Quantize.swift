import ArgumentParser
import Foundation
import OPTKernels
import OPTModel

/// `optiml quantize`: store a checkpoint's matrices in another format.
struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a checkpoint's weight matrices to f16, bf16, int8 or int4 and write it out (loads without re-converting).",
        discussion: "f16/bf16 outputs load in transformers; int8 outputs (I8 matrices with F32 per-row scales `<name>_scale`) and int4 outputs (U8 matrices of two values a byte with F16 scales per 32 columns `<name>_group_scale`) are this tool's own. With --calibration, int4 is rounded by GPTQ over that text's inputs (the same format, more accurate).")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Output directory.") var out: String
    @OptionGroup var calibrationOptions: CalibrationOptions

    func validate() throws {
        guard modelOptions.dtype != nil else { throw ValidationError("--dtype is required: f32, f16, bf16, int8 or int4") }
        // The source's files would be replaced by the converted ones: an f32 original lost to its int4 copy.
        if samePath(URL(fileURLWithPath: out, isDirectory: true), modelOptions.directory) {
            throw ValidationError("--out \(out) is the --model directory: its checkpoint would be overwritten; give another directory")
        }
        if calibrationOptions.calibration != nil, modelOptions.dtype != .int4, modelOptions.headDtype != .int4 {
            throw ValidationError("--calibration rounds int4 matrices only: give --dtype int4 or --head-dtype int4")
        }
    }

    func run() throws {
        guard let format = modelOptions.dtype else { return }
        let directory = modelOptions.directory, threads = modelOptions.threads
        let calibration: CalibrationStatistics?
        do {
            calibration = calibrationOptions.calibration == nil ? nil
                : try calibrationOptions.statistics(of: OPTModel(directory: directory, format: .f32, threads: threads), directory: directory)
        } catch { throw CLIError(error) }
        try Self.write(model: directory, format: format, headFormat: modelOptions.headDtype, threads: threads,
                       calibration: calibration, out: out)
        calibrationOptions.report(calibration)
    }

    /// Loads the checkpoint in `directory` as `format` and writes it, with its config and tokenizer files, into
    /// `out`; prints it (`optiml nano`'s last stage too).
    static func write(model directory: URL, format: WeightFormat, headFormat: WeightFormat? = nil, threads: Int?,
                      calibration: CalibrationStatistics? = nil, out: String) throws {
        do {
            let model = try OPTModel(directory: directory, format: format, headFormat: headFormat, threads: threads,
                                     calibration: calibration)
            try CheckpointExport.write(model, companionsFrom: directory, to: URL(fileURLWithPath: out, isDirectory: true))
        } catch { throw CLIError(error) }
        print("wrote \(format.rawValue) checkpoint to \(out)")
    }
}
