import CKernels
import OPTCheckpoint

/// Float32 values as the little-endian bytes of a stored dtype (f16 and bf16 rounded to nearest even).
enum FloatEncoding {
    static func bytes(_ values: [Float], as dtype: TensorDType) -> [UInt8] {
        switch dtype {
        case .f16, .bf16:
            var bits = [UInt16](repeating: 0, count: values.count)
            if dtype == .f16 { ck_f32_to_f16(values, &bits, values.count) } else { ck_f32_to_bf16(values, &bits, values.count) }
            return bits.withUnsafeBytes { Array($0) }
        default:
            return values.withUnsafeBytes { Array($0) }
        }
    }
}
