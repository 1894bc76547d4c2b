/// Element type of a stored tensor, spelled as safetensors spells it.
public enum TensorDType: String, Sendable, CaseIterable {
    /// Boolean, one byte each.
    case bool = "BOOL"
    /// Unsigned 8-bit integer.
    case u8 = "U8"
    /// Signed 8-bit integer (int8-quantised weights).
    case i8 = "I8"
    /// 8-bit float, 5 exponent and 2 mantissa bits.
    case f8e5m2 = "F8_E5M2"
    /// 8-bit float, 4 exponent and 3 mantissa bits.
    case f8e4m3 = "F8_E4M3"
    /// Signed 16-bit integer.
    case i16 = "I16"
    /// Unsigned 16-bit integer.
    case u16 = "U16"
    /// IEEE half precision.
    case f16 = "F16"
    /// bfloat16: the upper half of a Float32.
    case bf16 = "BF16"
    /// Signed 32-bit integer.
    case i32 = "I32"
    /// Unsigned 32-bit integer.
    case u32 = "U32"
    /// IEEE single precision.
    case f32 = "F32"
    /// IEEE double precision.
    case f64 = "F64"
    /// Signed 64-bit integer (position ids and other buffers).
    case i64 = "I64"
    /// Unsigned 64-bit integer.
    case u64 = "U64"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: 1
        case .i16, .u16, .f16, .bf16: 2
        case .i32, .u32, .f32: 4
        case .f64, .i64, .u64: 8
        }
    }

    /// Whether `Checkpoint.floats` can convert this type to Float32.
    public var convertsToFloat: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64: true
        default: false
        }
    }
}

/// What a checkpoint says about one tensor.
public struct TensorInfo: Sendable, Equatable {
    /// The tensor's name as stored (with or without the `model.` prefix).
    public var name: String
    /// The element type as stored.
    public var dtype: TensorDType
    /// Dimensions, outermost first; empty for a scalar.
    public var shape: [Int]

    /// Creates a description of one tensor.
    public init(name: String, dtype: TensorDType, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }

    /// Number of elements: the product of `shape` (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }
}

/// Product of `shape`, nil when a dimension is negative or the product overflows `Int`.
func checkedElementCount(_ shape: [Int]) -> Int? {
    var count = 1
    for dimension in shape {
        guard dimension >= 0 else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
        guard !overflow else { return nil }
        count = product
    }
    return count
}

/// Byte size of `shape` elements of `dtype`, nil on a negative dimension or overflow.
func checkedByteCount(_ shape: [Int], _ dtype: TensorDType) -> Int? {
    guard let count = checkedElementCount(shape) else { return nil }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.size)
    return overflow ? nil : bytes
}

/// Row-major strides, in elements, of a contiguous tensor of `shape`.
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var stride = 1
    for axis in shape.indices.reversed() {
        strides[axis] = stride
        stride &*= shape[axis]
    }
    return strides
}
