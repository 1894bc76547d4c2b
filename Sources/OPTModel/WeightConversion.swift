import CKernels
import OPTKernels

/// Float32 values turned into a `WeightMatrix` of another storage format.
public enum WeightConversion {
    /// `values` (`rows × cols`, row-major) stored as `format`, the way checkpoints are converted at load.
    public static func matrix(_ values: [Float], rows: Int, cols: Int, format: WeightFormat) -> WeightMatrix {
        let count = rows * cols
        let scaleBytes = format == .int8 ? rows * MemoryLayout<Float>.stride : 0
        // Scales first: they need 4-byte alignment, the int8 elements need none.
        let storage = AlignedBuffer(byteCount: scaleBytes + count * format.elementSize)
        let data = storage.pointer + scaleBytes
        values.withUnsafeBufferPointer { source in
            guard let src = source.baseAddress else { return }
            switch format {
            case .f32: data.copyMemory(from: src, byteCount: count * 4)
            case .f16: ck_f32_to_f16(src, data.assumingMemoryBound(to: UInt16.self), count)
            case .bf16: ck_f32_to_bf16(src, data.assumingMemoryBound(to: UInt16.self), count)
            case .int8:
                ck_quantize_rows_q8(src, data.assumingMemoryBound(to: Int8.self),
                                    storage.pointer.assumingMemoryBound(to: Float.self), rows, cols)
            }
        }
        let scales = format == .int8 ? UnsafePointer(storage.pointer.assumingMemoryBound(to: Float.self)) : nil
        return WeightMatrix(format: format, rows: rows, cols: cols, data: UnsafeRawPointer(data), scales: scales, owner: storage)
    }
}
