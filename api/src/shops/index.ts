/** Shops as the platform provisions them (operator). */
export { ShopService } from './service'
export { shopRoutes } from './routes'
