import OPTCheckpoint

/// Float32 values as the little-endian bytes of a stored dtype (round to nearest even).
enum FloatEncoding {
    static func bytes(_ values: [Float], as dtype: TensorDType) -> [UInt8] {
        switch dtype {
        case .f16: return littleEndianBytes(values.map { halfBits($0) })
        case .bf16: return littleEndianBytes(values.map { bfloat16Bits($0) })
        default: return littleEndianBytes(values.map(\.bitPattern))
        }
    }

    /// IEEE half bits of `value`, rounded to nearest even (what torch's `.half()` does).
    static func halfBits(_ value: Float) -> UInt16 {
        #if arch(arm64) || arch(x86_64)
        return Float16(value).bitPattern
        #else
        fatalError("Float16 is unavailable on this architecture")
        #endif
    }

    /// bfloat16 bits of `value`, rounded to nearest even; NaN stays NaN.
    static func bfloat16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(bits >> 16) | 0x40 }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }

    private static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: values.count * MemoryLayout<T>.size)
        bytes.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() { raw.storeBytes(of: v.littleEndian, toByteOffset: i * MemoryLayout<T>.size, as: T.self) }
        }
        return bytes
    }
}
