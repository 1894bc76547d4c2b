import CKernels
import OPTCheckpoint

/// Float32 values as the little-endian bytes of a stored dtype (f16 and bf16 rounded to nearest even).
enum FloatEncoding {
    /// Encodes `values` into `bytes`, which holds exactly `values.count` elements of `dtype`.
    static func encode(_ values: [Float], as dtype: TensorDType, into bytes: UnsafeMutableRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        switch dtype {
        case .f16: ck_f32_to_f16(values, base.assumingMemoryBound(to: UInt16.self), values.count)
        case .bf16: ck_f32_to_bf16(values, base.assumingMemoryBound(to: UInt16.self), values.count)
        default: values.withUnsafeBytes { bytes.copyMemory(from: $0) }
        }
    }
}
