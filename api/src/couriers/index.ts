/** The couriers feature's surface: delivery cards, the courier's private card, proof of delivery. */
export * from './service'
