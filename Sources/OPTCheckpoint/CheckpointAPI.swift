// PLACEHOLDER: the interface the model target codes against; the checkpoint helper replaces this file.
import Foundation

/// Element type of a stored tensor.
public enum TensorDType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16"
    /// Bytes per element.
    public var size: Int { self == .f32 ? 4 : 2 }
}

/// What a checkpoint says about one tensor.
public struct TensorInfo: Sendable, Equatable {
    public var name: String
    public var dtype: TensorDType
    public var shape: [Int]
}

/// Weights of a Hugging Face checkpoint directory (safetensors or pytorch_model.bin, single or sharded).
public final class Checkpoint: @unchecked Sendable {
    /// Opens the weight files in `directory`, preferring safetensors over .bin.
    public init(directory: URL) throws { fatalError("placeholder") }
    /// Names of every tensor, as stored (with or without the `model.` prefix).
    public var tensorNames: [String] { [] }
    /// dtype and shape of a tensor, nil when absent.
    public func info(_ name: String) -> TensorInfo? { nil }
    /// The tensor's values converted to Float32, row-major.
    public func floats(_ name: String) throws -> [Float] { [] }
}
