import Foundation
import OPTModel

/// A model's parameters (or their gradients, or an AdamW moment) as one Float32 vector in a `ParameterLayout`.
public final class ParameterVector {
    public let layout: ParameterLayout
    public let values: FloatBuffer

    /// Zeros.
    public init(layout: ParameterLayout) {
        self.layout = layout
        values = FloatBuffer(count: layout.count)
    }

    public var pointer: UnsafeMutablePointer<Float> { values.pointer }

    /// The values of the slot called `name`.
    public func tensor(_ name: String) -> [Float]? {
        guard let slot = layout.slot(name) else { return nil }
        return Array(UnsafeBufferPointer(start: pointer + slot.offset, count: slot.count))
    }

    /// Copies every parameter of `model` (converted to Float32 whatever its stored format).
    public convenience init(model: OPTModel) throws {
        let w = model.weights
        self.init(layout: w.layout)
        for (slot, matrix) in w.namedMatrices {
            matrix.toFloat(rows: 0..<matrix.rows, into: pointer + slot.offset)
        }
        for (slot, buffer) in w.namedFloatTensors {
            (pointer + slot.offset).update(from: buffer.pointer, count: slot.count)
        }
        // An untied config whose checkpoint has no lm_head: the runtime ties it, so training starts tied too.
        if !layout.tiedHead, w.tiedHead {
            (pointer + layout.lmHead.offset).update(from: pointer + layout.embedTokens.offset, count: layout.embedTokens.count)
        }
    }

    /// Loads a Hugging Face checkpoint directory (any format the runtime reads) as Float32.
    public convenience init(directory: URL) throws {
        try self.init(model: OPTModel(directory: directory, format: .f32, threads: 1))
    }
}
