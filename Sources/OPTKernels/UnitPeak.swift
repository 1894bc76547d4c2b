import CKernels
import Foundation

/// The arithmetic units the matrix products run on; `UnitPeak.measure` times the rate each reaches on this processor.
public enum ArithmeticUnit: String, CaseIterable, Sendable {
    case f32 = "f32 FMA", int8 = "int8 dot", bf16 = "bf16 dot", amxInt8 = "AMX int8", amxBF16 = "AMX bf16"

    fileprivate var code: Int32 {
        switch self {
        case .f32: Int32(CK_UNIT_F32)
        case .int8: Int32(CK_UNIT_INT8)
        case .bf16: Int32(CK_UNIT_BF16)
        case .amxInt8: Int32(CK_UNIT_AMX_INT8)
        case .amxBF16: Int32(CK_UNIT_AMX_BF16)
        }
    }

    /// The widest instruction of this unit that the processor has (within `OPTIML_MAX_ISA`), nil where it has none.
    public var instruction: String? { ck_unit_peak_instruction(code).map { String(cString: $0) } }
}

/// A unit's peak rate: its instruction run from registers alone on every thread of a pool at once, so that clocks
/// with all those cores busy, the pipes that take the instruction and a hypervisor's share all count. Products are
/// judged against it: what a kernel reaches of it, and what is left to gain.
public struct UnitPeak: Sendable {
    public let unit: ArithmeticUnit
    public let instruction: String
    /// Operations a second, two to a multiply-add, on all the pool's threads together.
    public let operationsPerSecond: Double

    /// The peak of every unit this processor has, each the best of three runs of about `seconds` each.
    public static func measure(pool: ComputePool, seconds: Double = 0.1) -> [UnitPeak] {
        ArithmeticUnit.allCases.compactMap { unit in
            guard let instruction = unit.instruction else { return nil }
            // One calibration round on this thread sizes the timed runs.
            let probe = 10_000
            let probeTime = time { _ = ck_unit_peak(unit.code, probe) }
            let rounds = max(probe, Int(Double(probe) * seconds / max(probeTime, 1e-6)))
            let operations = Double(ck_unit_peak(unit.code, 1)) * Double(rounds) * Double(pool.threads)
            let best = (0..<3).map { _ in
                time {
                    pool.forEachChunk(pool.threads) { _, range in
                        for _ in range { _ = ck_unit_peak(unit.code, rounds) }
                    }
                }
            }.min() ?? .infinity
            return UnitPeak(unit: unit, instruction: instruction, operationsPerSecond: operations / best)
        }
    }

    private static func time(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
