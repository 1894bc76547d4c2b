/// Widening of stored floating-point elements to Float32.
enum FloatConversion {
    /// Converts the packed little-endian elements in `source` to Float32 in `destination`.
    ///
    /// `source` may be unaligned (safetensors offsets are arbitrary), so elements are loaded unaligned.
    /// `dtype` must satisfy `convertsToFloat`; `destination` holds exactly the elements of `source`.
    static func convert(_ source: UnsafeRawBufferPointer, dtype: TensorDType, into destination: UnsafeMutableBufferPointer<Float>) {
        switch dtype {
        case .f32:
            UnsafeMutableRawBufferPointer(destination).copyMemory(from: source)
        case .f16:
            for index in destination.indices {
                destination[index] = halfToFloat(source.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self))
            }
        case .bf16:
            // bfloat16 is the top half of a float32, so widening is exact for every value, NaN included.
            for index in destination.indices {
                let bits = source.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)
                destination[index] = Float(bitPattern: UInt32(bits) << 16)
            }
        case .f64:
            for index in destination.indices {
                destination[index] = Float(source.loadUnaligned(fromByteOffset: 8 * index, as: Double.self))
            }
        default:
            preconditionFailure("\(dtype) does not convert to Float32; callers check convertsToFloat")
        }
    }

    /// IEEE half → single, exact for zeros, subnormals, infinities and NaN payloads.
    ///
    /// This branch-light bit manipulation vectorises and runs about eight times faster here than
    /// `Float(Float16(bitPattern:))`, which calls a compiler-rt routine on x86-64 without F16C; it also
    /// works on Intel macOS, where `Float16` does not exist. It matches `Float16` on every bit pattern
    /// except that signalling NaNs keep their payload unquieted (they stay NaN).
    @inline(__always)
    static func halfToFloat(_ half: UInt16) -> Float {
        let exponentMask: UInt32 = 0x7C00 << 13
        var bits = UInt32(half & 0x7FFF) << 13
        let exponent = bits & exponentMask
        bits &+= (127 - 15) << 23 // rebias the exponent
        if exponent == exponentMask {
            bits &+= (128 - 16) << 23 // infinity or NaN: exponent all ones
        } else if exponent == 0 {
            // Subnormal or zero: let the FPU normalise it by subtracting the implicit bit's value 2^-14.
            bits &+= 1 << 23
            bits = (Float(bitPattern: bits) - Float(bitPattern: 113 << 23)).bitPattern
        }
        return Float(bitPattern: bits | UInt32(half & 0x8000) << 16)
    }
}
